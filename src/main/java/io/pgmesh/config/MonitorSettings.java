package io.pgmesh.config;

import java.time.Duration;

/**
 * How a run process is watched and what it keeps: the HTTP listener ({@code http.listen}, off
 * when null), the latency past which a task counts as unhealthy ({@code health.max-latency}), the
 * WAL a slot may hold before it is a warning ({@code slot-safety.warn-retained-wal}), and how long
 * the rows of {@code pgmesh.conflicts} and {@code pgmesh.apply_errors} are kept ({@code retention}).
 */
public record MonitorSettings(String httpListen, Duration maxLatency, long warnRetainedWalBytes, Retention retention) {
    public static final Duration DEFAULT_MAX_LATENCY = Duration.ofSeconds(60);
    public static final long DEFAULT_WARN_RETAINED_WAL = 10L * 1024 * 1024 * 1024;

    /**
     * How long logged conflicts and apply errors are kept. An apply error is a change that was
     * never applied and may still be retried or repaired by hand, so it is kept longer than a
     * conflict, which was resolved when it was logged.
     */
    public record Retention(Duration conflicts, Duration applyErrors) {
        public static final Retention DEFAULT = new Retention(Duration.ofDays(30), Duration.ofDays(90));
    }

    public MonitorSettings(String httpListen, Duration maxLatency, long warnRetainedWalBytes) {
        this(httpListen, maxLatency, warnRetainedWalBytes, Retention.DEFAULT);
    }

    public static MonitorSettings defaults() {
        return new MonitorSettings(null, DEFAULT_MAX_LATENCY, DEFAULT_WARN_RETAINED_WAL);
    }

    /** The same settings, listening on {@code listen} (the {@code --http} option wins over the file). */
    public MonitorSettings withHttpListen(String listen) {
        return new MonitorSettings(listen, maxLatency, warnRetainedWalBytes, retention);
    }
}
