package io.pgmesh.validate;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.monitor.CatchUp;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * Brings the nodes to a common point before they are compared: waits until every task has
 * applied everything its source had committed when the wait began. When a task is not running
 * there is nothing to wait for; the gate then stays open, and says why results may include
 * changes not yet replicated.
 */
final class CatchUpGate {
    private final MeshConfig config;
    private final Duration timeout;
    private String problem;

    private CatchUpGate(MeshConfig config, Duration timeout) {
        this.config = config;
        this.timeout = timeout;
    }

    static CatchUpGate open(MeshConfig config, Map<String, NodeReader> nodes, Duration timeout)
            throws ValidationException, InterruptedException {
        CatchUpGate gate = new CatchUpGate(config, timeout);
        for (TaskSpec t : Topology.mesh(config)) {
            NodeReader source = nodes.get(t.source().name());
            Optional<Boolean> active;
            try {
                active = source.slotActive(t.slotName());
            } catch (SQLException e) {
                throw new ValidationException("node " + source.name() + ": " + io.pgmesh.pg.Errors.describe(e), e);
            }
            if (active.isEmpty() || !active.get()) {
                gate.problem = "task " + t + " is not running (" + (active.isEmpty() ? "no slot " : "nobody reads slot ")
                        + t.slotName() + "), so validate did not wait for replication";
                return gate;
            }
        }
        gate.await();
        return gate;
    }

    /** True while every wait so far completed: differences cannot be changes that were in flight. */
    boolean caughtUp() {
        return problem == null;
    }

    /** Why the nodes may not be at a common point, or null. */
    String problem() {
        return problem;
    }

    /** Waits again, when waiting has worked so far. */
    void await() throws ValidationException, InterruptedException {
        if (problem != null) {
            return;
        }
        try {
            CatchUp.await(config, timeout);
        } catch (TimeoutException e) {
            problem = "replication did not catch up: " + e.getMessage();
        } catch (SQLException e) {
            throw new ValidationException("waiting for replication to catch up: " + io.pgmesh.pg.Errors.describe(e), e);
        }
    }
}
