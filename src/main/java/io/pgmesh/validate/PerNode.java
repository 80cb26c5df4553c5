package io.pgmesh.validate;

import io.pgmesh.pg.Errors;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs one step on every node at once, each on its node's own connection, so that a table's scan
 * takes as long as on the slowest node and the nodes are read at nearly the same moment.
 */
final class PerNode implements AutoCloseable {

    @FunctionalInterface
    interface Step<T> {
        T on(NodeReader node) throws SQLException;
    }

    private final Map<String, NodeReader> nodes;
    private final ExecutorService pool;

    PerNode(Map<String, NodeReader> nodes) {
        this.nodes = nodes;
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(nodes.size(), r -> {
            Thread t = new Thread(r, "validate-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    Map<String, NodeReader> nodes() {
        return nodes;
    }

    /** The step's result per node, in mesh order; the first node to fail fails the step, named. */
    <T> Map<String, T> run(Step<T> step) throws ValidationException, InterruptedException {
        List<Future<T>> futures = new ArrayList<>();
        for (NodeReader node : nodes.values()) {
            futures.add(pool.submit(() -> step.on(node)));
        }
        Map<String, T> results = new LinkedHashMap<>();
        ValidationException failure = null;
        int i = 0;
        for (NodeReader node : nodes.values()) {
            try {
                results.put(node.name(), futures.get(i++).get());
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = new ValidationException("node " + node.name() + ": " + Errors.describe(e.getCause()), e.getCause());
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        return results;
    }

    @Override
    public void close() {
        pool.shutdownNow();
        for (NodeReader node : nodes.values()) {
            try {
                node.close();
            } catch (SQLException ignored) {
                // the comparison is over; a connection that fails to close changes nothing
            }
        }
    }
}
