package io.pgmesh.task;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Sql;
import io.pgmesh.setup.MeshState;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Holds back every task into or out of a node whose rows are not complete: a node being loaded
 * (or whose load was interrupted), and a node that {@code initial-load.from} says is to be
 * loaded but was not yet. A task that ran anyway would apply onto a half-copied node, send its
 * half-empty tables (or a reload's emptying) to the others, or create the slot whose existence
 * then makes init believe the node already replicates and skip its load.
 */
final class LoadGate {
    private LoadGate() {
    }

    /** Why the task must wait, or empty when both of its nodes are complete. */
    static Optional<String> reason(TaskSpec spec, String loadSource, Connection source, Connection target)
            throws SQLException {
        Optional<String> r = incomplete(spec.target(), loadSource, target);
        return r.isPresent() ? r : incomplete(spec.source(), loadSource, source);
    }

    /**
     * A node that init set up has the seed's origin (init creates every task's origin, and a
     * load leaves its row in {@code initial_load}); a node that nothing set up has neither, and
     * only a load can make it complete.
     */
    private static Optional<String> incomplete(NodeConfig node, String loadSource, Connection conn)
            throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.initial_load') IS NOT NULL")) {
            return loadSource == null || loadSource.equals(node.name()) ? Optional.empty() : Optional.of(waiting(node, loadSource));
        }
        Optional<String> loading = Sql.queryString(conn,
                "SELECT source_node FROM pgmesh.initial_load WHERE state = 'loading' ORDER BY 1 LIMIT 1");
        if (loading.isPresent()) {
            return Optional.of(node.name() + " is being loaded from " + loading.get() + ", or that load was"
                    + " interrupted: its tasks wait until it is done (if no pgmesh init runs, run it again)");
        }
        if (loadSource == null || loadSource.equals(node.name())
                || MeshState.initialLoadState(conn, loadSource).isPresent()
                || MeshState.originExists(conn, Names.origin(loadSource))) {
            return Optional.empty();
        }
        return Optional.of(waiting(node, loadSource));
    }

    private static String waiting(NodeConfig node, String loadSource) {
        return node.name() + " waits for its initial load from " + loadSource
                + " (initial-load.from): run pgmesh init -c <mesh file>; its tasks start when the load is done";
    }
}
