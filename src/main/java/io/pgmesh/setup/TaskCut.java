package io.pgmesh.setup;

import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Ends the tasks that use some slots and origins of a node and drops them: their walsenders and
 * apply sessions are terminated first (a slot or an origin that a session holds cannot be
 * dropped), then each goes once its session has let go.
 */
final class TaskCut {
    private static final long WAIT_NANOS = 10_000_000_000L;

    private TaskCut() {
    }

    /**
     * @param applyNames application_name patterns (LIKE) of the apply sessions that hold the origins
     * @return what was dropped, as "slot x" and "origin y"
     */
    static List<String> endAndDrop(Connection conn, List<String> slots, List<String> origins, List<String> applyNames)
            throws SQLException, InterruptedException {
        return end(conn, slots, origins, applyNames, false);
    }

    /**
     * As {@link #endAndDrop}, but the origins stay, their progress reset to none: an origin's id is
     * what the commit records of the rows and tombstones it wrote carry, and an origin created
     * again may get another node's old id. For a node that stays in the mesh (resync).
     */
    static List<String> endAndReset(Connection conn, List<String> slots, List<String> origins, List<String> applyNames)
            throws SQLException, InterruptedException {
        return end(conn, slots, origins, applyNames, true);
    }

    private static List<String> end(Connection conn, List<String> slots, List<String> origins, List<String> applyNames,
                                    boolean keepOrigins) throws SQLException, InterruptedException {
        for (String slot : slots) {
            Sql.queryString(conn, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                    + " WHERE slot_name = ? AND active_pid IS NOT NULL", slot);
        }
        for (String name : applyNames) {
            Sql.queryString(conn, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    + " WHERE datname = current_database() AND application_name LIKE ?", name);
        }
        List<String> dropped = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT_NANOS;
        for (String slot : slots) {
            while (MeshState.slotActive(conn, slot) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            if (MeshState.slotExists(conn, slot)) {
                Sql.queryString(conn, "SELECT pg_drop_replication_slot(?)", slot);
                dropped.add("slot " + slot);
            }
        }
        for (String origin : origins) {
            if (MeshState.originExists(conn, origin)) {
                whenFree(conn, keepOrigins ? "SELECT pg_replication_origin_advance(?, '0/0')"
                        : "SELECT pg_replication_origin_drop(?)", origin, deadline);
                dropped.add((keepOrigins ? "reset origin " : "origin ") + origin);
            }
        }
        return dropped;
    }

    /** An origin a session still holds cannot be dropped or moved; the killed apply session lets go a moment later. */
    private static void whenFree(Connection conn, String sql, String origin, long deadline)
            throws SQLException, InterruptedException {
        while (true) {
            try {
                Sql.queryString(conn, sql, origin);
                return;
            } catch (SQLException e) {
                if (!SqlStates.OBJECT_IN_USE.equals(e.getSQLState()) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
