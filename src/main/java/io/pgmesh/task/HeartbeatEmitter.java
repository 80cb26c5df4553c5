package io.pgmesh.task;

import io.pgmesh.capture.Heartbeat;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a {@link Heartbeat} into every node's WAL at a fixed interval, so that each task
 * measures latency while no application writes, and a stuck task's latency grows. One thread
 * per node: a node that stops answering delays only its own heartbeats, for at most the
 * connection's bound, and then its tasks' latency grows, as it should.
 */
final class HeartbeatEmitter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");
    private static final Duration BOUND = Duration.ofSeconds(10);

    private final List<NodeConfig> nodes;
    private final Duration interval;
    private final Map<String, Connection> conns = new ConcurrentHashMap<>();
    private final Map<String, String> sql = new ConcurrentHashMap<>();
    /** Nodes whose last heartbeat failed: the first failure is a warning, the rest wait for the recovery line. */
    private final java.util.Set<String> failing = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService pool;
    private volatile boolean closed;

    /** Told the name of a node whose heartbeats are written again after they failed. */
    private final java.util.function.Consumer<String> backAgain;

    HeartbeatEmitter(List<NodeConfig> nodes, Duration interval, java.util.function.Consumer<String> backAgain) {
        this.nodes = nodes;
        this.interval = interval;
        this.backAgain = backAgain;
        this.pool = Executors.newScheduledThreadPool(Math.max(1, nodes.size()), r -> {
            Thread th = new Thread(r, "pgmesh heartbeat");
            th.setDaemon(true);
            return th;
        });
    }

    void start() {
        for (NodeConfig node : nodes) {
            pool.scheduleWithFixedDelay(() -> beat(node), 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void beat(NodeConfig node) {
        Connection conn = conns.get(node.name());
        try {
            if (conn == null) {
                conn = PgConnector.connect(node, "heartbeat", BOUND);
                if (closed) {
                    conn.close(); // close() ran while this connected
                    return;
                }
                conns.put(node.name(), conn);
                sql.put(node.name(), statement(ServerCapabilities.of(conn)));
            }
            Sql.exec(conn, sql.get(node.name()));
            if (failing.remove(node.name())) {
                log.info("node {}: heartbeats are written again", node.name());
                backAgain.accept(node.name());
            }
        } catch (SQLException | RuntimeException e) {
            // Without heartbeats an idle task's latency grows and /health turns 503: say why once.
            if (failing.add(node.name()) && !closed) {
                log.warn("node {}: no heartbeat written ({}); latency of its idle tasks will grow until it is;"
                        + " retrying every {} s", node.name(), Errors.describe(e), interval.toSeconds());
            }
            Sql.closeQuietly(conn);
            conns.remove(node.name());
        }
    }

    /**
     * Before 17 the message cannot flush itself: an xid makes the transaction write a commit
     * record, whose flush carries the message to the walsender. The transaction has no change,
     * so pgoutput sends nothing of it.
     */
    private static String statement(ServerCapabilities caps) {
        String content = Heartbeat.contentSql();
        String prefix = "'" + Heartbeat.PREFIX + "'";
        if (caps.messageFlush()) {
            return "SELECT pg_logical_emit_message(false, " + prefix + ", " + content + ", true)";
        }
        return "BEGIN; SELECT pg_logical_emit_message(false, " + prefix + ", " + content + "), txid_current(); COMMIT";
    }

    @Override
    public void close() {
        closed = true;
        pool.shutdownNow();
        conns.values().forEach(Sql::closeQuietly);
    }
}
