package io.pgmesh.config;

import java.time.Duration;

/**
 * How a run process is watched: the HTTP listener ({@code http.listen}, off when null), the
 * latency past which a task counts as unhealthy ({@code health.max-latency}), and the WAL a slot
 * may hold before it is a warning ({@code slot-safety.warn-retained-wal}).
 */
public record MonitorSettings(String httpListen, Duration maxLatency, long warnRetainedWalBytes) {
    public static final Duration DEFAULT_MAX_LATENCY = Duration.ofSeconds(60);
    public static final long DEFAULT_WARN_RETAINED_WAL = 10L * 1024 * 1024 * 1024;

    public static MonitorSettings defaults() {
        return new MonitorSettings(null, DEFAULT_MAX_LATENCY, DEFAULT_WARN_RETAINED_WAL);
    }

    /** The same settings, listening on {@code listen} (the {@code --http} option wins over the file). */
    public MonitorSettings withHttpListen(String listen) {
        return new MonitorSettings(listen, maxLatency, warnRetainedWalBytes);
    }
}
