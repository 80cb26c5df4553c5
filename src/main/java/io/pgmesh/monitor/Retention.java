package io.pgmesh.monitor;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.MonitorSettings;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import io.pgmesh.causal.TombstonePruner;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps what pgmesh writes on each node from growing without bound, in the background of a run
 * process, every node in turn:
 * <ul>
 *   <li>rows of {@code pgmesh.conflicts} and {@code pgmesh.apply_errors} older than
 *       {@code retention.conflicts} and {@code retention.apply-errors} go, in batches by their
 *       time index, each batch its own short transaction, so removing a busy day's conflicts never
 *       holds a lock or a snapshot for long (the counts in the metrics are the process's own and stay);</li>
 *   <li>tombstones no change can need any more go ({@link TombstonePruner}); a node that holds
 *       that back is logged, once each time it starts and stops, and shown in the metrics.</li>
 * </ul>
 */
public final class Retention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");
    /** Rows removed per statement. */
    static final int BATCH = 5_000;
    private static final Duration CONNECT_BOUND = Duration.ofSeconds(5);
    private static final Duration STATEMENT_BOUND = Duration.ofMinutes(10);

    private final Duration interval;
    private final ScheduledExecutorService pool = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread th = new Thread(r, "pgmesh retention");
        th.setDaemon(true);
        return th;
    });
    private volatile MeshConfig config;
    /** Per node, tombstones removed so far by this process. */
    private final Map<String, LongAdder> tombstonesRemoved = new ConcurrentHashMap<>();
    /** Per node, how long its last round took (seconds), statements and round trips together. */
    private final Map<String, Double> roundSeconds = new ConcurrentHashMap<>();
    /** Per node, the last round's tombstones held back, per node holding them. */
    private final Map<String, Map<String, Long>> tombstonesHeld = new ConcurrentHashMap<>();

    public Retention(MeshConfig config, Duration interval) {
        this.config = config;
        this.interval = interval;
    }

    public void start() {
        pool.scheduleWithFixedDelay(this::pruneAll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** After a reload: the next round covers the nodes and retention of {@code next}. */
    public void config(MeshConfig next) {
        config = next;
    }

    private void pruneAll() {
        MeshConfig c = config;
        MonitorSettings.Retention keep = c.monitor().retention();
        for (NodeConfig node : c.nodes()) {
            long started = System.nanoTime();
            try (Connection conn = PgConnector.connect(node, "retention", CONNECT_BOUND)) {
                // Connecting is bounded tightly (a frozen node is skipped at once); a round's
                // statements may take longer on big tables, and get their own bound.
                conn.setNetworkTimeout(Runnable::run, (int) STATEMENT_BOUND.toMillis());
                long conflicts = prune(conn, "conflicts", keep.conflicts());
                long errors = prune(conn, "apply_errors", keep.applyErrors());
                if (conflicts + errors > 0) {
                    log.info("node {}: removed {} conflict(s) older than {} and {} apply error(s) older than {}"
                            + " (retention)", node.name(), conflicts, human(keep.conflicts()), errors,
                            human(keep.applyErrors()));
                }
                TombstonePruner.Result r = TombstonePruner.prune(conn, node.name(),
                        c.nodes().stream().map(NodeConfig::name).toList(), heldAfter());
                tombstonesRemoved.computeIfAbsent(node.name(), n -> new LongAdder()).add(r.removed());
                log.debug("node {}: removed {} tombstone(s)", node.name(), r.removed());
                held(node.name(), r.held());
                roundSeconds.put(node.name(), (System.nanoTime() - started) / 1e9);
            } catch (SQLException | RuntimeException e) {
                // The next round tries again; the status reading already says when a node is down.
                log.debug("node {}: retention skipped: {}", node.name(), Errors.describe(e));
            }
        }
    }

    /** Kept this long past their delete, tombstones count as held back: five rounds (5 min by default). */
    Duration heldAfter() {
        return interval.multipliedBy(5);
    }

    /** Logs a change in who holds this node's tombstones back. */
    private void held(String node, Map<String, Long> now) {
        Map<String, Long> before = tombstonesHeld.getOrDefault(node, Map.of());
        for (var e : now.entrySet()) {
            if (!before.containsKey(e.getKey())) {
                log.warn("node {}: {} tombstone(s) older than {} are kept because {} has not confirmed it saw"
                        + " their deletes (it is down, or behind): they go once it catches up; remove it with"
                        + " pgmesh remove-node if it is gone for good", node, e.getValue(), human(heldAfter()),
                        e.getKey());
            }
        }
        for (String by : before.keySet()) {
            if (!now.containsKey(by)) {
                log.info("node {}: {} no longer holds tombstone pruning back", node, by);
            }
        }
        tombstonesHeld.put(node, Map.copyOf(now));
    }

    /** Per node, how long its last round took, in seconds. */
    public Map<String, Double> roundSeconds() {
        return new java.util.TreeMap<>(roundSeconds);
    }

    /** Per node, tombstones this process removed. */
    public Map<String, Long> tombstonesRemoved() {
        Map<String, Long> m = new java.util.TreeMap<>();
        tombstonesRemoved.forEach((n, a) -> m.put(n, a.sum()));
        return m;
    }

    /** Per node, per node holding them back, tombstones older than five rounds still kept (last round). */
    public Map<String, Map<String, Long>> tombstonesHeld() {
        return Map.copyOf(tombstonesHeld);
    }

    /** Removes the table's rows older than {@code keep}; returns how many. */
    public static long prune(Connection conn, String table, Duration keep) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM pgmesh." + table + " WHERE id IN (SELECT id FROM"
                + " pgmesh." + table + " WHERE recorded_at < now() - ?::interval ORDER BY recorded_at LIMIT " + BATCH + ")")) {
            ps.setString(1, keep.toMillis() + " milliseconds");
            return io.pgmesh.pg.Sql.removeInBatches(ps, BATCH);
        }
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s % 86_400 == 0 ? s / 86_400 + "d" : s % 3600 == 0 ? s / 3600 + "h" : s % 60 == 0 ? s / 60 + "m" : s + "s";
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
