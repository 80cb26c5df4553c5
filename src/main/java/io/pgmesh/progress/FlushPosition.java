package io.pgmesh.progress;

import io.pgmesh.pg.Lsn;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the applier tells capture about durability, so capture confirms only what is safe.
 * Written by the apply thread, read by the capture thread.
 *
 * <p>Capture may confirm {@link #durable()}; and when the applier has processed every message
 * handed to it and every commit is on disk, it may confirm all it has received (transactions
 * that were filtered out need no apply). Write order matters: the applier clears
 * {@code allDurable} before it counts a commit as processed.
 */
public final class FlushPosition {
    private final AtomicLong processed = new AtomicLong();
    private volatile Lsn durable;
    private volatile boolean allDurable = true;

    public FlushPosition(Lsn start) {
        this.durable = start;
    }

    /** Apply thread: a commit was applied but may not be on disk yet. Call before {@link #processed()}. */
    public void committed() {
        allDurable = false;
    }

    /** Apply thread: one more message handed over by capture is done with. */
    public void processed() {
        processed.incrementAndGet();
    }

    /** Apply thread: everything up to {@code lsn} is on disk; {@code all} if nothing applied is newer. */
    public void durable(Lsn lsn, boolean all) {
        durable = lsn;
        allDurable = all;
    }

    public long processedCount() {
        return processed.get();
    }

    public boolean allDurable() {
        return allDurable;
    }

    public Lsn durable() {
        return durable;
    }
}
