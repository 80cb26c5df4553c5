package io.pgmesh.task;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;

/**
 * Counters of one task, written by its apply thread and read by whoever reports (demo, status
 * line). Latency is source commit to target commit, as the wall clocks of both tell it.
 */
public final class TaskMetrics {
    private final AtomicLong appliedTransactions = new AtomicLong();
    private final AtomicLong appliedRows = new AtomicLong();
    private final AtomicLong conflicts = new AtomicLong();
    private final Recorder latencyMicros = new Recorder(3);

    public void applied(Instant sourceCommitTime, long conflictsSoFar, int rows) {
        appliedTransactions.incrementAndGet();
        appliedRows.addAndGet(rows);
        conflicts.set(conflictsSoFar);
        long micros = Duration.between(sourceCommitTime, Instant.now()).toNanos() / 1000;
        latencyMicros.recordValue(Math.max(0, micros));
    }

    public long appliedTransactions() {
        return appliedTransactions.get();
    }

    /** Row changes (inserts, updates, deletes, truncates) of the applied transactions. */
    public long appliedRows() {
        return appliedRows.get();
    }

    public long conflicts() {
        return conflicts.get();
    }

    /** Latencies recorded since the last call: a histogram per reporting interval. */
    public org.HdrHistogram.Histogram takeLatencyInterval() {
        return latencyMicros.getIntervalHistogram();
    }
}
