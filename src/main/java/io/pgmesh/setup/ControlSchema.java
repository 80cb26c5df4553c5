package io.pgmesh.setup;

import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The {@code pgmesh} schema on every node: what pgmesh records about its own work. It is never
 * part of the publication, so nothing in it replicates.
 *
 * <p>{@code task_progress} holds, per source, the end LSN of the last transaction applied from it,
 * written by the applier inside that very transaction. It is the truth about what was
 * applied: PostgreSQL also advances a replication origin when a transaction that set its position
 * aborts, so after a crash the origin can be ahead of the data, and the applier puts it back.
 *
 * <p>{@code apply_errors} holds the changes that could not be applied (a unique index other than
 * the key, a missing table or column, a value the column's type refuses, or a conflict of a table
 * whose resolution is {@code error}) when {@code conflicts.on-error} is {@code skip}, with their
 * full row images, until {@code pgmesh retry} applies or {@code pgmesh discard} drops them. Rows
 * go in inside the apply transaction, so a quarantined change is recorded exactly when the
 * rest of its transaction commits.
 *
 * <p>{@code task_state} holds, per source, what the {@code run} process applying from it last said
 * of the task (streaming, retrying, failed, and why, since when, which host and pid), written
 * when it changes: {@code status} reads it, so a task that failed inside a process that still
 * runs is seen; whether that process still runs, status tells by its reporting session.
 *
 * <p>{@code task_lease} says, per source, which {@code run} process may apply from it, and which
 * session of that process renews it (renewals write nothing; see {@code io.pgmesh.task.TaskLease.LIVE}): several processes may run one mesh, and a holder that vanishes
 * without a word (host lost, network cut) must not keep its tasks from the others for longer
 * than the lease. See {@code io.pgmesh.task.TaskLease}.
 *
 * <p>{@code removed_nodes} names the nodes {@code pgmesh remove-node} took out: a task into or
 * out of one never starts again, so that a {@code run} still given the old mesh file cannot
 * recreate their slots.
 *
 * <p>{@code initial_load} records, per source, an initial load into this node: while it says
 * {@code loading} the rows are incomplete, so no task from that source may start, and the next
 * {@code init} removes what the interrupted one created before loading again.
 *
 * <p>The ID helpers (package {@code io.pgmesh.ids}) live here too: {@code uuid_v7(region)} makes
 * the layout of {@code RegionalUuid}; {@code uuid_v7()} takes the region from the database setting
 * {@code pgmesh.region}, so one column default serves every node; {@code id_block(name, size)}
 * hands out disjoint ranges from {@code id_blocks} on whichever node the callers share.
 */
public final class ControlSchema {
    private static final String DDL = """
            CREATE SCHEMA IF NOT EXISTS pgmesh;
            CREATE TABLE IF NOT EXISTS pgmesh.conflicts (
                id bigserial PRIMARY KEY,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                source_node text NOT NULL,
                target_node text NOT NULL,
                table_name text NOT NULL,
                conflict_type text NOT NULL,
                resolution text NOT NULL,
                key_values jsonb,
                local_row jsonb,
                remote_row jsonb,
                local_origin text,
                local_commit_time timestamptz,
                remote_commit_time timestamptz,
                remote_commit_lsn pg_lsn
            );
            CREATE TABLE IF NOT EXISTS pgmesh.apply_errors (
                id bigserial PRIMARY KEY,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                source_node text NOT NULL,
                target_node text NOT NULL,
                table_name text NOT NULL,
                operation text NOT NULL,
                key_values jsonb,
                old_row jsonb,
                new_row jsonb,
                remote_commit_lsn pg_lsn NOT NULL,
                remote_commit_time timestamptz NOT NULL,
                error text NOT NULL,
                sqlstate text
            );
            -- Retention removes old rows by time, a batch at a time.
            CREATE INDEX IF NOT EXISTS conflicts_recorded_at ON pgmesh.conflicts (recorded_at);
            CREATE INDEX IF NOT EXISTS apply_errors_recorded_at ON pgmesh.apply_errors (recorded_at);
            CREATE TABLE IF NOT EXISTS pgmesh.task_progress (
                source_node text PRIMARY KEY,
                last_commit_lsn pg_lsn NOT NULL,
                last_commit_time timestamptz,
                applied_at timestamptz
            );
            ALTER TABLE pgmesh.task_progress ADD COLUMN IF NOT EXISTS seen jsonb;
            CREATE TABLE IF NOT EXISTS pgmesh.seen_history (
                source_node text NOT NULL,
                from_time timestamptz NOT NULL,
                seen jsonb NOT NULL,
                PRIMARY KEY (source_node, from_time)
            );
            CREATE TABLE IF NOT EXISTS pgmesh.slot_start (
                slot_name text PRIMARY KEY,
                started_at timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS pgmesh.task_state (
                source_node text PRIMARY KEY,
                state text NOT NULL,
                detail text,
                since timestamptz NOT NULL,
                process text NOT NULL,
                reported_at timestamptz NOT NULL
            );
            ALTER TABLE pgmesh.task_state ADD COLUMN IF NOT EXISTS table_stats jsonb;
            CREATE TABLE IF NOT EXISTS pgmesh.task_lease (
                source_node text PRIMARY KEY,
                holder_id uuid NOT NULL,
                process text NOT NULL,
                fingerprint text NOT NULL,
                preferred boolean NOT NULL,
                backend_pid integer NOT NULL,
                keeper_pid integer,
                acquired_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                claimed_by uuid,
                claimed_process text,
                claimed_at timestamptz
            );
            CREATE TABLE IF NOT EXISTS pgmesh.removed_nodes (
                node text PRIMARY KEY,
                removed_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS pgmesh.initial_load (
                source_node text PRIMARY KEY,
                state text NOT NULL CHECK (state IN ('loading', 'done')),
                started_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                consistent_lsn pg_lsn,
                created_tables text[] NOT NULL DEFAULT '{}',
                loaded_tables text[] NOT NULL DEFAULT '{}',
                rows_copied bigint,
                bytes_copied bigint
            );
            CREATE OR REPLACE FUNCTION pgmesh.uuid_v7(region smallint) RETURNS uuid
            LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
            DECLARE
                micros bigint := floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
                millis bigint := micros / 1000;
                -- rand_a: the sub-millisecond part in 12 bits, so values order to the microsecond.
                sub int := ((micros % 1000) * 4096 / 1000)::int;
                b bytea := uuid_send(gen_random_uuid());
            BEGIN
                IF region IS NULL OR region < 0 THEN
                    RAISE EXCEPTION 'pgmesh.uuid_v7: region must be 0..32767, got %', coalesce(region::text, 'NULL');
                END IF;
                FOR i IN 0..5 LOOP
                    b := set_byte(b, i, ((millis >> (40 - 8 * i)) & 255)::int);
                END LOOP;
                b := set_byte(b, 6, 112 | (sub >> 8));
                b := set_byte(b, 7, sub & 255);
                -- rand_b: variant 10, the region in 15 bits, then 47 of gen_random_uuid's random bits.
                b := set_byte(b, 8, 128 | (region >> 9));
                b := set_byte(b, 9, (region >> 1) & 255);
                b := set_byte(b, 10, ((region & 1) << 7) | (get_byte(b, 10) & 127));
                RETURN encode(b, 'hex')::uuid;
            END
            $$;
            CREATE OR REPLACE FUNCTION pgmesh.uuid_v7() RETURNS uuid
            LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
            DECLARE
                setting text := current_setting('pgmesh.region', true);
            BEGIN
                IF setting IS NULL OR setting = '' THEN
                    RAISE EXCEPTION 'pgmesh.uuid_v7(): pgmesh.region is not set on this database'
                        USING HINT = 'ALTER DATABASE ' || quote_ident(current_database()) || ' SET pgmesh.region = <0..32767>, then reconnect';
                END IF;
                RETURN pgmesh.uuid_v7(setting::smallint);
            END
            $$;
            CREATE TABLE IF NOT EXISTS pgmesh.id_blocks (
                name text PRIMARY KEY,
                next_value bigint NOT NULL
            );
            CREATE OR REPLACE FUNCTION pgmesh.id_block(name text, size bigint) RETURNS int8range
            LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                block int8range;
            BEGIN
                IF size IS NULL OR size < 1 THEN
                    RAISE EXCEPTION 'pgmesh.id_block(%): size must be at least 1, got %', name, coalesce(size::text, 'NULL');
                END IF;
                -- The upsert takes the row lock: concurrent callers for one name queue on it, and
                -- each one adds its size to the value the previous one committed.
                INSERT INTO pgmesh.id_blocks AS blk (name, next_value) VALUES (id_block.name, 1 + id_block.size)
                ON CONFLICT ON CONSTRAINT id_blocks_pkey
                DO UPDATE SET next_value = blk.next_value + id_block.size
                RETURNING int8range(blk.next_value - id_block.size, blk.next_value) INTO STRICT block;
                RETURN block;
            END
            $$;
            """;

    private ControlSchema() {
    }

    /** Whether pgmesh's control tables are on this node (init or run has been there). */
    public static boolean exists(Connection conn) throws SQLException {
        return Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL");
    }

    /** The nodes remove-node took out of the mesh, as this node knows them; none without the schema. */
    public static java.util.List<String> removedNodes(Connection conn) throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.removed_nodes') IS NOT NULL")) {
            return java.util.List.of();
        }
        return Sql.queryColumn(conn, "SELECT node FROM pgmesh.removed_nodes ORDER BY node");
    }

    /** Creates or completes the schema; true when something was missing. */
    public static boolean ensure(Connection conn) throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL"
                + " AND to_regclass('pgmesh.initial_load') IS NOT NULL"
                + " AND to_regprocedure('pgmesh.uuid_v7(smallint)') IS NOT NULL"
                + " AND to_regprocedure('pgmesh.uuid_v7()') IS NOT NULL"
                + " AND to_regprocedure('pgmesh.id_block(text, bigint)') IS NOT NULL"
                + " AND to_regclass('pgmesh.apply_errors') IS NOT NULL"
                + " AND to_regclass('pgmesh.task_state') IS NOT NULL"
                + " AND to_regclass('pgmesh.task_lease') IS NOT NULL"
                + " AND to_regclass('pgmesh.slot_start') IS NOT NULL"
                + " AND to_regclass('pgmesh.seen_history') IS NOT NULL"
                + " AND to_regclass('pgmesh.removed_nodes') IS NOT NULL"
                + " AND to_regclass('pgmesh.conflicts_recorded_at') IS NOT NULL"
                + " AND to_regclass('pgmesh.apply_errors_recorded_at') IS NOT NULL"
                + " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pgmesh.task_progress')"
                + " AND attname = 'seen')"
                + " AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('pgmesh.task_state')"
                + " AND attname = 'table_stats')")) {
            Sql.exec(conn, DDL);
            return true;
        }
        return false;
    }
}
