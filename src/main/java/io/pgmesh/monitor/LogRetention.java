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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code pgmesh.conflicts} and {@code pgmesh.apply_errors} from growing without bound: in
 * the background of a run process, rows older than {@code retention.conflicts} and
 * {@code retention.apply-errors} go, in batches by their time index, each batch its own short
 * transaction, so removing a busy day's conflicts never holds a lock or a snapshot for long. The
 * counts in the metrics are the process's own and stay.
 */
public final class LogRetention implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");
    /** Rows removed per statement. */
    static final int BATCH = 5_000;
    private static final Duration CONNECT_BOUND = Duration.ofSeconds(5);

    private final Duration interval;
    private final ScheduledExecutorService pool = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread th = new Thread(r, "pgmesh log retention");
        th.setDaemon(true);
        return th;
    });
    private volatile MeshConfig config;

    public LogRetention(MeshConfig config, Duration interval) {
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
            try (Connection conn = PgConnector.connect(node, "retention", CONNECT_BOUND)) {
                long conflicts = prune(conn, "conflicts", keep.conflicts());
                long errors = prune(conn, "apply_errors", keep.applyErrors());
                if (conflicts + errors > 0) {
                    log.info("node {}: removed {} conflict(s) older than {} and {} apply error(s) older than {}"
                            + " (retention)", node.name(), conflicts, human(keep.conflicts()), errors,
                            human(keep.applyErrors()));
                }
            } catch (SQLException | RuntimeException e) {
                // The next round tries again; the status reading already says when a node is down.
                log.debug("node {}: retention skipped: {}", node.name(), Errors.describe(e));
            }
        }
    }

    /** Removes the table's rows older than {@code keep}; returns how many. */
    public static long prune(Connection conn, String table, Duration keep) throws SQLException {
        long removed = 0;
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM pgmesh." + table + " WHERE id IN (SELECT id FROM"
                + " pgmesh." + table + " WHERE recorded_at < now() - ?::interval ORDER BY recorded_at LIMIT " + BATCH + ")")) {
            ps.setString(1, keep.toSeconds() + " seconds");
            int n;
            do {
                n = ps.executeUpdate();
                removed += n;
            } while (n == BATCH && !Thread.currentThread().isInterrupted());
        }
        return removed;
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
