package io.pgmesh.setup;

import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The {@code pgmesh} schema on every node: what pgmesh records about its own work. It is never
 * part of the publication, so nothing in it replicates.
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
            CREATE TABLE IF NOT EXISTS pgmesh.task_progress (
                source_node text PRIMARY KEY,
                last_commit_lsn pg_lsn NOT NULL,
                last_commit_time timestamptz NOT NULL,
                applied_at timestamptz NOT NULL
            );
            """;

    private ControlSchema() {
    }

    public static void ensure(Connection conn) throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL")) {
            Sql.exec(conn, DDL);
        }
    }
}
