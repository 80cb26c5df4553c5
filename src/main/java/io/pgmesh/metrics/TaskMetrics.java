package io.pgmesh.metrics;

import io.pgmesh.apply.AppliedChanges;
import io.pgmesh.apply.ApplyEvents;
import io.pgmesh.capture.ReceiveEvents;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Recorder;

/**
 * Counters of one task, written by its capture and apply threads and read by whoever reports
 * (the demo's line, /metrics, /api/status). They outlive a restart of the task's process-side
 * runner (SIGHUP), so a counter only grows. Latency is source commit to target commit, as the
 * wall clocks of both tell it.
 */
public final class TaskMetrics implements ApplyEvents, ReceiveEvents {
    /** Labels of a conflict counter. */
    public record ConflictKey(String table, String type, String resolution) {
    }

    private final AtomicLong appliedTransactions = new AtomicLong();
    private final AtomicLong appliedRows = new AtomicLong();
    private final LongAdder receivedChanges = new LongAdder();
    private final LabeledCounts<AppliedChanges.TableOp> tableOps = new LabeledCounts<>();
    private final LabeledCounts<ConflictKey> conflictCounts = new LabeledCounts<>();
    private final LabeledCounts<String> applyErrors = new LabeledCounts<>();
    private final Recorder latencyMicros = new Recorder(3);
    /** The labels of each per-table series, built once: building them at every scrape was half its cost. */
    private final java.util.Map<AppliedChanges.TableOp, io.prometheus.metrics.model.snapshots.Labels> tableOpLabels =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final String task;
    private final LatencyClock latency;
    private volatile java.util.function.DoubleConsumer latencyObserver = v -> { };
    private volatile String lastError;
    private long rateSampleNanos = System.nanoTime();
    private long rateSampleRows;
    private double rowsPerSecond;

    public TaskMetrics(String task, Duration heartbeatInterval) {
        this.task = task;
        // A heartbeat may come a little late (scheduling, a WAL flush): a second of grace.
        this.latency = new LatencyClock(heartbeatInterval.plusSeconds(1));
    }

    /** Where each applied transaction's latency also goes (the /metrics histogram). */
    public void observeLatencyWith(java.util.function.DoubleConsumer observer) {
        latencyObserver = observer;
    }

    @Override
    public void committed(Instant sourceCommitTime, int rows, AppliedChanges changes) {
        appliedTransactions.incrementAndGet();
        appliedRows.addAndGet(rows);
        long micros = Math.max(0, Duration.between(sourceCommitTime, Instant.now()).toNanos() / 1000);
        latencyMicros.recordValue(micros);
        latencyObserver.accept(micros / 1e6);
        latency.applied(sourceCommitTime);
        changes.forEach(tableOps::add);
        for (AppliedChanges.ConflictMet c : changes.conflicts()) {
            conflictCounts.add(new ConflictKey(c.table(), c.type(), c.resolution()), 1);
        }
        for (String table : changes.applyErrors()) {
            applyErrors.add(table, 1);
        }
    }

    @Override
    public void caughtUp(Instant sourceTime) {
        latency.applied(sourceTime);
    }

    @Override
    public void changes(int n) {
        receivedChanges.add(n);
    }

    @Override
    public void sourceTime(Instant t) {
        latency.received(t);
    }

    /** The task's last retry or failure, with when: it stays after the task streams again. */
    public void error(String what) {
        lastError = what;
    }

    public String lastError() {
        return lastError;
    }

    /** Rows applied per second over the time since the previous call (at least a second apart). */
    public synchronized double rowsPerSecond() {
        long now = System.nanoTime();
        if (now - rateSampleNanos >= 1_000_000_000L) {
            long rows = appliedRows.get();
            rowsPerSecond = (rows - rateSampleRows) * 1e9 / (now - rateSampleNanos);
            rateSampleRows = rows;
            rateSampleNanos = now;
        }
        return Math.round(rowsPerSecond * 10) / 10.0;
    }

    public long appliedTransactions() {
        return appliedTransactions.get();
    }

    /** Row changes (inserts, updates, deletes, truncates) of the applied transactions. */
    public long appliedRows() {
        return appliedRows.get();
    }

    /** Conflicts of committed transactions, all tables and kinds. */
    public long conflicts() {
        return conflictCounts.total();
    }

    /** Changes recorded in pgmesh.apply_errors by committed transactions, all tables. */
    public long applyErrorCount() {
        return applyErrors.total();
    }

    public long receivedChanges() {
        return receivedChanges.sum();
    }

    public LabeledCounts<AppliedChanges.TableOp> tableOps() {
        return tableOps;
    }

    /** The labels (task, table, op) of the series of {@code k}. */
    io.prometheus.metrics.model.snapshots.Labels labels(AppliedChanges.TableOp k) {
        return tableOpLabels.computeIfAbsent(k, x -> io.prometheus.metrics.model.snapshots.Labels.of(
                "task", task, "table", x.table(), "op", x.op().label()));
    }

    public LabeledCounts<ConflictKey> conflictCounts() {
        return conflictCounts;
    }

    public LabeledCounts<String> applyErrors() {
        return applyErrors;
    }

    public LatencyClock latency() {
        return latency;
    }

    /** Latencies recorded since the last call: a histogram per reporting interval. */
    public org.HdrHistogram.Histogram takeLatencyInterval() {
        return latencyMicros.getIntervalHistogram();
    }
}
