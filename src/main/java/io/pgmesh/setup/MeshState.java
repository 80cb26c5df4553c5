package io.pgmesh.setup;

import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/** Read-only questions about what pgmesh has already set up on a node. */
public final class MeshState {
    private MeshState() {
    }

    public static boolean slotExists(Connection node, String slot) throws SQLException {
        return Sql.queryBool(node, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)", slot);
    }

    public static boolean slotActive(Connection node, String slot) throws SQLException {
        return Sql.queryBool(node, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ? AND active)", slot);
    }

    public static boolean originExists(Connection node, String origin) throws SQLException {
        return Sql.queryBool(node, "SELECT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = ?)", origin);
    }

    /** What the node has applied under {@code origin}; ZERO when it never applied anything. */
    public static Lsn originProgress(Connection node, String origin) throws SQLException {
        return Sql.queryString(node, """
                SELECT s.remote_lsn::text FROM pg_replication_origin_status s
                  JOIN pg_replication_origin o ON o.roident = s.local_id WHERE o.roname = ?""", origin)
                .map(Lsn::parse).orElse(Lsn.ZERO);
    }

    /**
     * The consistent point of a finished initial load from {@code source} into this node: the
     * slot the load created there streams from it, and changes after it exist nowhere else.
     */
    public static Optional<Lsn> loadedAt(Connection node, String source) throws SQLException {
        if (!Sql.queryBool(node, "SELECT to_regclass('pgmesh.initial_load') IS NOT NULL")) {
            return Optional.empty();
        }
        return Sql.queryString(node, "SELECT consistent_lsn::text FROM pgmesh.initial_load WHERE source_node = ?"
                + " AND state = 'done' AND consistent_lsn IS NOT NULL", source).map(Lsn::parse);
    }

    /** The state of an initial load from {@code source} into this node ("loading", "done"), if one was started. */
    public static Optional<String> initialLoadState(Connection node, String source) throws SQLException {
        if (!Sql.queryBool(node, "SELECT to_regclass('pgmesh.initial_load') IS NOT NULL")) {
            return Optional.empty();
        }
        return Sql.queryString(node, "SELECT state FROM pgmesh.initial_load WHERE source_node = ?", source);
    }
}
