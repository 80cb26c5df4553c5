package io.pgmesh.task;

import io.pgmesh.setup.ControlSchema;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * A task into or out of a node that {@code remove-node} took out of the mesh must not start: its
 * slot and origin are gone, and starting would create them afresh, from "now".
 */
final class MembershipGate {
    private MembershipGate() {
    }

    static Optional<String> removed(TaskSpec spec, Connection source, Connection target) throws SQLException {
        for (Connection conn : List.of(source, target)) {
            for (String node : ControlSchema.removedNodes(conn)) {
                if (node.equals(spec.source().name()) || node.equals(spec.target().name())) {
                    return Optional.of(node + " was removed from the mesh (pgmesh remove-node): delete its entry from"
                            + " the mesh file and send pgmesh run SIGHUP (or restart it)");
                }
            }
        }
        return Optional.empty();
    }
}
