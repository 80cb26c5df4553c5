package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/** Assertions that several integration tests make about a running mesh. */
final class MeshAssertions {
    private MeshAssertions() {
    }

    /**
     * Every task streams now and was never interrupted: each slot is still read by the walsender
     * that served it at {@code walsendersAtStart} (a retry would have reconnected).
     */
    static void assertTasksNeverStopped(PgCluster cluster, MeshRunner runner, Map<String, String> walsendersAtStart)
            throws SQLException {
        assertEquals(List.of(), PgCluster.notStreaming(runner), "every task must still be streaming");
        assertEquals(walsendersAtStart, cluster.walsenderPids(),
                "each slot must still be read by the walsender it had at the start: a task that failed and"
                        + " retried would have reconnected");
    }

    /**
     * Every conflict on {@code node} carries the remote row, and those that met an existing row
     * (insert_exists, update_differs, delete_differs) carry the local row as well.
     */
    static void assertRowImagesRecorded(PgCluster cluster, int node) throws SQLException {
        String name = cluster.name(node);
        assertTrue(cluster.count(node, "SELECT count(*) FROM pgmesh.conflicts") > 0,
                name + " must have recorded conflicts");
        assertEquals(0, cluster.count(node, "SELECT count(*) FROM pgmesh.conflicts WHERE remote_row IS NULL"),
                "every conflict on " + name + " must record the remote row image");
        assertEquals(0, cluster.count(node, "SELECT count(*) FROM pgmesh.conflicts WHERE local_row IS NULL"
                        + " AND conflict_type IN ('insert_exists', 'update_differs', 'delete_differs')"),
                "every conflict on " + name + " that met an existing row must record the local row image");
        assertEquals(0, cluster.count(node, "SELECT count(*) FROM pgmesh.conflicts WHERE target_node <> '" + name
                        + "' OR source_node = target_node"),
                "conflicts on " + name + " must be recorded as resolved on " + name + " for a change from another node");
    }
}
