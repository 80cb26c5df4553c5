package io.pgmesh.capture;

import io.pgmesh.pg.Lsn;
import io.pgmesh.progress.FlushPosition;
import io.pgmesh.wal.PgOutputDecoder;
import io.pgmesh.wal.WalMessage;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The capture thread of a task: reads the change stream, decodes, filters, and hands messages to
 * the applier through a bounded queue. It owns the stream, so it is also the one that confirms
 * positions to the source and keeps the walsender from timing out while the applier is busy.
 */
public final class Capture implements Runnable {
    private static final long STATUS_WHILE_BLOCKED_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final ChangeStream stream;
    private final BlockingQueue<WalMessage> queue;
    private final FlushPosition flush;
    private final TransactionFilter filter = new TransactionFilter();
    private final ReceiveEvents events;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile long lastMessageNanos = System.nanoTime();
    private long enqueued;

    public Capture(ChangeStream stream, BlockingQueue<WalMessage> queue, FlushPosition flush, ReceiveEvents events) {
        this.stream = stream;
        this.queue = queue;
        this.flush = flush;
        this.events = events;
    }

    @Override
    public void run() {
        try {
            int idleRounds = 0;
            while (running) {
                ByteBuffer buf = stream.readPending();
                if (buf == null) {
                    confirm(false);
                    // Short naps while traffic may resume at once, longer ones when the source is idle.
                    LockSupport.parkNanos(idleRounds++ < 200 ? 200_000L : 2_000_000L);
                    continue;
                }
                idleRounds = 0;
                lastMessageNanos = System.nanoTime();
                for (WalMessage m : filter.accept(PgOutputDecoder.decode(buf))) {
                    count(m);
                    hand(m);
                }
            }
        } catch (Throwable t) {
            if (running) {
                failure = t;
            }
        }
    }

    /** Before the message waits for room in the queue: what arrived counts as received, whatever the target does. */
    private void count(WalMessage m) {
        if (m instanceof WalMessage.Commit c) {
            events.sourceTime(c.commitTime());
        } else if (m instanceof WalMessage.LogicalMessage lm) {
            Heartbeat.parse(lm).ifPresent(events::sourceTime);
        } else if (m instanceof WalMessage.Insert || m instanceof WalMessage.Update || m instanceof WalMessage.Delete
                || m instanceof WalMessage.Truncate) {
            events.changes(1);
        }
    }

    private void hand(WalMessage m) throws Exception {
        long lastStatus = System.nanoTime();
        while (!queue.offer(m, 100, TimeUnit.MILLISECONDS)) {
            if (!running) {
                return;
            }
            if (System.nanoTime() - lastStatus > STATUS_WHILE_BLOCKED_NANOS) {
                confirm(true);
                stream.sendStatus();
                lastStatus = System.nanoTime();
            }
        }
        enqueued++;
    }

    /**
     * Confirms what is safe. {@code handingOff}: a message decoded from the stream waits to be
     * queued; the filter may already count its transaction as ended (it has seen the Commit), but
     * nothing past the durable position is safe until the applier has that Commit too.
     */
    private void confirm(boolean handingOff) {
        Lsn lsn = flush.durable();
        // Only between source transactions, with everything handed over applied and on disk, is
        // the last received position safe to confirm: it covers nothing that is still to apply.
        // Read processed before allDurable: the applier writes them in the opposite order.
        if (!handingOff && !filter.inTransaction() && flush.processedCount() == enqueued && flush.allDurable()) {
            lsn = Lsn.max(lsn, stream.lastReceived());
        }
        stream.confirm(lsn);
    }

    /** When the stream last delivered a message (System.nanoTime). */
    public long lastMessageNanos() {
        return lastMessageNanos;
    }

    public void stop() {
        running = false;
    }

    /** Why the thread ended, or null while it runs (or when it was stopped). */
    public Throwable failure() {
        return failure;
    }
}
