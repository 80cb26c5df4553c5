package io.pgmesh.http;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.metrics.MeshMetrics;
import io.pgmesh.metrics.TaskView;
import io.pgmesh.monitor.Retention;
import io.pgmesh.monitor.StatusPoller;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * What watches and tends a run process beside its tasks: the status poller, the retention of
 * conflicts and apply errors, and with {@code --http} the metrics and the HTTP endpoint, kept
 * across reloads while the tasks behind them change.
 */
public final class RunMonitor implements AutoCloseable {
    /** How often the nodes are read for slot, lag and node figures. */
    static final Duration POLL_INTERVAL = Duration.ofSeconds(5);
    /** Without --http the readings serve only the slot-safety warning in the log. */
    static final Duration QUIET_POLL_INTERVAL = Duration.ofSeconds(30);
    /**
     * How often old conflicts, apply errors and tombstones are removed (retention): a minute, or
     * the system property {@code pgmesh.retention.interval} in seconds (the tests' knob).
     */
    static final Duration RETENTION_INTERVAL = Duration.ofSeconds(Long.getLong("pgmesh.retention.interval", 60));

    private final StatusPoller poller;
    private final MeshMetrics metrics;
    private final HttpEndpoint endpoint;
    private final AtomicReference<MeshConfig> config;
    private final Retention retention;

    private RunMonitor(AtomicReference<MeshConfig> config, StatusPoller poller, MeshMetrics metrics,
                       HttpEndpoint endpoint) {
        this.config = config;
        this.poller = poller;
        this.metrics = metrics;
        this.endpoint = endpoint;
        this.retention = new Retention(config.get(), RETENTION_INTERVAL);
        if (metrics != null) {
            metrics.watch(retention);
        }
        retention.start();
    }

    /**
     * Listens first, so that a bad address ends the command before any task starts. With
     * {@code listen} null there is no HTTP side: the nodes are still read now and then, so that
     * a slot holding too much WAL is warned about in the log.
     */
    public static RunMonitor start(String listen, MeshConfig config, Supplier<List<TaskView>> tasks, String process)
            throws HttpEndpoint.ListenException {
        if (listen == null) {
            StatusPoller poller = new StatusPoller(config, QUIET_POLL_INTERVAL, false);
            poller.start();
            return new RunMonitor(new AtomicReference<>(config), poller, null, null);
        }
        StatusPoller poller = new StatusPoller(config, POLL_INTERVAL, true);
        MeshMetrics metrics = new MeshMetrics(tasks, poller::latest);
        AtomicReference<MeshConfig> current = new AtomicReference<>(config);
        HttpEndpoint endpoint = HttpEndpoint.start(listen, metrics, tasks, poller, () -> current.get().monitor(),
                POLL_INTERVAL.multipliedBy(3).plus(Duration.ofSeconds(10)), process);
        poller.start();
        return new RunMonitor(current, poller, metrics, endpoint);
    }

    /** New bounds (health, slot safety) for the tasks that run on. */
    public void settings(MeshConfig next) {
        config.set(next);
        poller.config(next);
        retention.config(next);
    }

    /** A new set of tasks runs (start, or a reload with {@code next}). */
    public void tasksStarted(MeshConfig next, List<TaskView> tasks) {
        config.set(next);
        poller.config(next);
        retention.config(next);
        if (metrics != null) {
            tasks.forEach(metrics::attach);
        }
    }

    @Override
    public void close() {
        if (endpoint != null) {
            endpoint.close();
        }
        poller.close();
        retention.close();
    }
}
