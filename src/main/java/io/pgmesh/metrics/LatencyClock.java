package io.pgmesh.metrics;

import java.time.Duration;
import java.time.Instant;

/**
 * The live CDC latency of one task, on both sides: source commit to received, and source commit
 * to committed on the target. A task that is stuck receives or applies nothing, so a latency
 * measured only when something arrives would show its last good value forever. Heartbeats
 * arrive at least every {@code slack} on a healthy task, so the age of the newest source time
 * seen, less that slack, is a lower bound that keeps growing while the task is stuck.
 *
 * <p>Times are the source's commit (or heartbeat) clock against this process's clock: a skew
 * between the two shifts the figures by as much (status shows the skew).
 */
public final class LatencyClock {
    private final long slackMicros;
    private final java.util.function.LongSupplier nowMicros;
    private volatile long receivedThrough = -1;
    private volatile long receivedLatency;
    private volatile long appliedThrough = -1;
    private volatile long appliedLatency;

    public LatencyClock(Duration slack) {
        this(slack, () -> micros(Instant.now()));
    }

    /** With the clock {@code nowMicros} (microseconds since the epoch) instead of the system's. */
    LatencyClock(Duration slack, java.util.function.LongSupplier nowMicros) {
        this.slackMicros = slack.toNanos() / 1000;
        this.nowMicros = nowMicros;
    }

    /** Capture thread: a commit or heartbeat made on the source at {@code sourceTime} arrived. */
    public void received(Instant sourceTime) {
        long t = micros(sourceTime);
        receivedLatency = Math.max(0, nowMicros() - t);
        receivedThrough = Math.max(receivedThrough, t);
    }

    /** Apply thread: everything the source made up to {@code sourceTime} is committed on the target. */
    public void applied(Instant sourceTime) {
        long t = micros(sourceTime);
        appliedLatency = Math.max(0, nowMicros() - t);
        appliedThrough = Math.max(appliedThrough, t);
    }

    /** Source commit to received, in seconds; NaN before anything arrived. */
    public double sourceSeconds() {
        return seconds(receivedThrough, receivedLatency);
    }

    /** Source commit to committed on the target, in seconds; NaN before anything was applied. */
    public double targetSeconds() {
        return seconds(appliedThrough, appliedLatency);
    }

    private double seconds(long through, long measured) {
        if (through < 0) {
            return Double.NaN;
        }
        long stuck = nowMicros() - through - slackMicros;
        return Math.max(measured, stuck) / 1e6;
    }

    static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1000;
    }

    private long nowMicros() {
        return nowMicros.getAsLong();
    }
}
