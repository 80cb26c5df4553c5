package io.pgmesh.task;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Deadline;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews a task's lease while an attempt runs, from a session of its own (the apply session may
 * be busy for minutes with one transaction). When the lease leaves this process, or cannot be
 * renewed for {@link TaskLease#SELF_FENCE}, it says why to {@code lost} at once, which drops the
 * task's connections: the holder stops before a standby may take over, so two processes never
 * both believe they apply. The fence is a timer of its own: a renewal stuck in a connect or a
 * login to a target that stopped answering must not delay it past the lease's end.
 */
final class LeaseKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.task");
    /** Each renewal is bounded well under the self-fence: a target that stopped answering is noticed. */
    private static final Duration BOUND = Duration.ofSeconds(4);
    private static final ScheduledExecutorService FENCE = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pgmesh lease fence");
        t.setDaemon(true);
        return t;
    });

    /**
     * Why the lease left. {@code toAnother}: another process has the task now (this one stands
     * by); otherwise it could not be renewed (the target does not answer): a failure, retried.
     */
    record Loss(String why, boolean toAnother) {
    }

    private final NodeConfig target;
    private final String sourceNode;
    private final LeaseHolder me;
    private final String purpose;
    private final Consumer<Loss> lost;
    private final Thread thread;
    private final ScheduledFuture<?> fence;
    private volatile boolean running = true;
    /** When the last renewal that succeeded was sent (the lease runs from a moment after it). */
    private volatile long renewedNanos;
    private volatile String lastFailure = "no renewal answered";

    LeaseKeeper(NodeConfig target, String sourceNode, LeaseHolder me, String purpose, long takenNanos,
                Consumer<Loss> lost) {
        this.target = target;
        this.sourceNode = sourceNode;
        this.me = me;
        this.purpose = purpose;
        this.lost = lost;
        this.renewedNanos = takenNanos;
        thread = new Thread(this::keep, "lease " + purpose);
        thread.setDaemon(true);
        thread.start();
        fence = FENCE.scheduleWithFixedDelay(this::checkFence, 500, 500, TimeUnit.MILLISECONDS);
    }

    private void keep() {
        Connection conn = null;
        try {
            while (running) {
                try {
                    Thread.sleep(TaskLease.RENEW_EVERY.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                long sent = System.nanoTime();
                try {
                    boolean first = conn == null;
                    if (first) {
                        conn = PgConnector.connect(target, "lease " + purpose, BOUND);
                        // A row lock held by a session that died mid-acquire must not hold a renewal.
                        Sql.exec(conn, "SET lock_timeout = '2s'");
                    }
                    if (!running) {
                        return;
                    }
                    Connection c = conn;
                    String gone = Deadline.abortUnlessDone(c, BOUND, () -> TaskLease.renew(c, sourceNode, me, first));
                    if (gone != null) {
                        give(new Loss(gone, true));
                        return;
                    }
                    renewedNanos = sent;
                } catch (SQLException | RuntimeException e) {
                    Sql.closeQuietly(conn);
                    conn = null;
                    lastFailure = Errors.describe(e);
                    log.debug("task {}: lease renewal failed: {}", purpose, lastFailure);
                }
            }
        } finally {
            Sql.closeQuietly(conn);
        }
    }

    private void checkFence() {
        long silent = System.nanoTime() - renewedNanos;
        if (running && silent >= TaskLease.SELF_FENCE.toNanos()) {
            give(new Loss("could not renew the lease on " + target.name() + " for "
                    + TimeUnit.NANOSECONDS.toSeconds(silent) + " s (" + lastFailure + "); stopped applying so that"
                    + " another process may take the task over", false));
        }
    }

    private synchronized void give(Loss loss) {
        if (running) {
            running = false;
            fence.cancel(false);
            lost.accept(loss);
        }
    }

    /**
     * Ends the renewals; with {@code release} (the task stops) the lease is let go at once, so a
     * standby need not wait for it to run out.
     */
    void close(boolean release) {
        running = false;
        fence.cancel(false);
        thread.interrupt();
        if (!release) {
            return;
        }
        try (Connection c = PgConnector.connect(target, "lease " + purpose, BOUND)) {
            TaskLease.release(c, sourceNode, me);
        } catch (SQLException | RuntimeException e) {
            log.debug("task {}: the lease could not be released; it runs out in {} s", purpose,
                    TaskLease.TERM.toSeconds(), e);
        }
    }

    @Override
    public void close() {
        close(false);
    }
}
