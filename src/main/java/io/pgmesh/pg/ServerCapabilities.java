package io.pgmesh.pg;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * What a server can do, by version. Every PostgreSQL-version difference pgmesh cares about is
 * decided here and nowhere else.
 */
public record ServerCapabilities(int versionNum) {

    public static ServerCapabilities of(Connection conn) throws SQLException {
        return new ServerCapabilities(Sql.queryInt(conn, "SELECT current_setting('server_version_num')::int"));
    }

    public int major() {
        return versionNum / 10000;
    }

    /** pgoutput's origin option (16+) lets the server drop transactions that were applied by a subscriber. */
    public boolean serverSideOriginFilter() {
        return major() >= 16;
    }

    /** pg_xact_commit_timestamp_origin() exists (14+): conflict detection needs the origin of a local row. */
    public boolean commitTimestampOrigin() {
        return major() >= 14;
    }

    /** pg_replication_slots.wal_status (13+) tells a slot whose WAL is gone ('lost'). */
    public boolean slotWalStatus() {
        return major() >= 13;
    }

    /** pg_replication_slots.invalidation_reason (17+). */
    public boolean slotInvalidationReason() {
        return major() >= 17;
    }

    /** pg_replication_slots.conflicting (16 only; 17 has invalidation_reason). */
    public boolean slotConflicting() {
        return major() == 16;
    }

    /**
     * Replication origins take their tracking state from max_replication_slots before 18; 18 gives
     * them their own limit, max_active_replication_origins.
     */
    public boolean originsUseReplicationSlots() {
        return major() < 18;
    }

    /**
     * pg_logical_emit_message can flush the WAL it writes (17+). Before, a non-transactional
     * message waits in the WAL buffers, unseen by the walsender, until something else flushes.
     */
    public boolean messageFlush() {
        return major() >= 17;
    }

    /** GRANT SET ON PARAMETER (15+) lets a role that is not a superuser set superuser-only settings. */
    public boolean parameterPrivileges() {
        return major() >= 15;
    }
}
