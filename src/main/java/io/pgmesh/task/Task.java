package io.pgmesh.task;

import io.pgmesh.apply.Applier;
import io.pgmesh.apply.ApplyStoppedException;
import io.pgmesh.apply.ReplayNeededException;
import io.pgmesh.capture.Capture;
import io.pgmesh.capture.ChangeStream;
import io.pgmesh.capture.FlushPosition;
import io.pgmesh.capture.SlotLostException;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.setup.MeshState;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.wal.WalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One direction of replication, from connecting to stopping: capture on its own thread, apply on
 * this one, and retry with backoff when either fails. A lost slot, or a change that cannot be applied
 * under {@code conflicts.on-error: stop}, ends the task for good.
 */
public final class Task implements Runnable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.task");
    private static final int QUEUE_CAPACITY = 10_000;
    private static final long DURABLE_REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final Duration HEALTHY_STREAMING = Duration.ofSeconds(30);

    private final TaskSpec spec;
    private final NodePreparer sourcePreparer;
    private final NodePreparer targetPreparer;
    private final ConflictPolicy policy;
    private final RetryPolicy retry;
    private final TaskMetrics metrics = new TaskMetrics();
    /** Transactions (by commit LSN) to apply statement by statement: they failed in a strict batch before. */
    private final java.util.Set<Lsn> carefulTxns = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean running = true;
    private volatile TaskState state;
    private volatile String detail;
    private volatile Thread thread;
    /** The target session while an applier uses it: what {@link #stop} cancels. */
    private volatile Connection applying;

    public Task(TaskSpec spec, NodePreparer sourcePreparer, NodePreparer targetPreparer, ConflictPolicy policy,
                RetryPolicy retry) {
        this.spec = spec;
        this.sourcePreparer = sourcePreparer;
        this.targetPreparer = targetPreparer;
        this.policy = policy;
        this.retry = retry;
    }

    public TaskSpec spec() {
        return spec;
    }

    public TaskState state() {
        return state;
    }

    /** What the last state change said: where it streams from, why it retries, why it failed. */
    public String detail() {
        return detail;
    }

    public TaskMetrics metrics() {
        return metrics;
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        int failures = 0;
        while (running) {
            long started = System.nanoTime();
            try {
                attempt();
            } catch (SlotLostException | TaskBlockedException | ApplyStoppedException e) {
                setState(TaskState.FAILED, e.getMessage());
                return;
            } catch (ReplayNeededException e) {
                log.info("task {}: {}", spec, e.getMessage());
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                if (System.nanoTime() - started > HEALTHY_STREAMING.toNanos()) {
                    failures = 0;
                }
                Duration delay = retry.delay(failures++);
                setState(TaskState.RETRYING, "retrying in " + seconds(delay) + " because " + Errors.describe(e));
                log.debug("task {} failure", spec, e);
                if (!sleep(delay)) {
                    break;
                }
            }
        }
        setState(TaskState.STOPPED, "stopped");
    }

    /**
     * Asks the task to end and returns at once. A statement the target is running for it is
     * cancelled: it may wait for a row lock that a session there holds for as long as it likes,
     * and stopping must not wait for that. Its transaction rolls back with its progress, so the
     * source sends it again at the next start.
     */
    public void stop() {
        running = false;
        Thread t = thread;
        if (t != null) {
            t.interrupt();
        }
        Connection c = applying;
        if (c != null) {
            // On a thread of its own: the cancel request is a connection of its own, which can take
            // seconds to fail when the target is unreachable, and stop must return at once.
            Thread cancel = new Thread(() -> {
                try {
                    c.unwrap(PGConnection.class).cancelQuery();
                } catch (SQLException e) {
                    log.debug("task {}: cancelling the statement in progress failed", spec, e);
                }
            }, "cancel " + spec);
            cancel.setDaemon(true);
            cancel.start();
        }
    }

    private void attempt() throws Exception {
        setState(TaskState.CONNECTING, "connecting to " + PgConnector.describe(spec.source()) + " and "
                + PgConnector.describe(spec.target()));
        Applier applier;
        ServerCapabilities sourceCaps;
        try (Connection source = connect(spec.source().name(), () -> PgConnector.connect(spec.source(), "capture " + spec))) {
            sourceCaps = ServerCapabilities.of(source);
            sourcePreparer.ensure(source);
            Connection target = connect(spec.target().name(), () -> PgConnector.connectApply(spec.target(), "apply " + spec));
            try {
                targetPreparer.ensure(target);
                if (MeshState.initialLoadState(target, spec.source().name()).filter("loading"::equals).isPresent()) {
                    throw new TaskBlockedException("the initial load from " + spec.source().name() + " into "
                            + spec.target().name() + " did not finish, so " + spec.target().name()
                            + " lacks rows; run pgmesh init again to redo it, then run");
                }
                applier = Applier.open(spec, target, ServerCapabilities.of(target), policy, metrics::applied, carefulTxns);
            } catch (Exception e) {
                target.close();
                throw e;
            }
            try {
                SlotManager.ensure(source, sourceCaps, spec, applier.startPosition());
            } catch (Exception e) {
                applier.close();
                throw e;
            }
        }
        applying = applier.connection();
        try (applier) {
            if (!running) {
                return; // stopped while connecting: a cancel sent before now found nothing to cancel
            }
            try (Connection repl = connect(spec.source().name(),
                    () -> PgConnector.connectReplication(spec.source(), "capture " + spec));
                 ChangeStream stream = ChangeStream.start(repl.unwrap(PGConnection.class), spec.slotName(),
                         applier.startPosition(), sourceCaps)) {
                stream(applier, stream);
            }
        } finally {
            applying = null;
        }
    }

    private void stream(Applier applier, ChangeStream stream) throws Exception {
        BlockingQueue<WalMessage> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        FlushPosition flush = new FlushPosition(applier.startPosition());
        Capture capture = new Capture(stream, queue, flush);
        Thread captureThread = new Thread(capture, "capture " + spec);
        captureThread.setDaemon(true);
        captureThread.start();
        setState(TaskState.STREAMING, "streaming from " + lsnOrSlot(applier.startPosition()));
        try {
            applyLoop(applier, queue, flush, capture);
        } finally {
            capture.stop();
            captureThread.join(5000);
        }
    }

    private void applyLoop(Applier applier, BlockingQueue<WalMessage> queue, FlushPosition flush, Capture capture)
            throws Exception {
        long lastRefresh = System.nanoTime();
        while (running) {
            WalMessage m = queue.poll();
            if (m == null) {
                // The source is quiet for now: send what waits, the last COMMIT included.
                applier.flushPending();
                m = queue.poll(50, TimeUnit.MILLISECONDS);
            }
            if (m == null) {
                if (capture.failure() != null) {
                    throw new CaptureFailedException(capture.failure());
                }
                refreshDurable(applier, flush);
                lastRefresh = System.nanoTime();
                continue;
            }
            if (m instanceof WalMessage.Commit) {
                flush.committed(); // before the Commit counts as processed: capture must not confirm past it
            }
            applier.apply(m);
            flush.processed();
            if (System.nanoTime() - lastRefresh > DURABLE_REFRESH_NANOS && !applier.inTransaction()) {
                refreshDurable(applier, flush);
                lastRefresh = System.nanoTime();
            }
        }
    }

    private static void refreshDurable(Applier applier, FlushPosition flush) throws SQLException {
        if (applier.inTransaction()) {
            return;
        }
        Lsn durable = applier.refreshDurable();
        flush.durable(durable, durable.compareTo(applier.appliedLsn()) >= 0 && !applier.hasPendingCommit());
    }

    private void setState(TaskState next, String detail) {
        this.detail = detail;
        state = next;
        if (next == TaskState.FAILED) {
            log.error("task {}: {}", spec, detail);
        } else if (next == TaskState.RETRYING) {
            log.warn("task {}: {}", spec, detail);
        } else {
            log.info("task {}: {}", spec, detail);
        }
    }

    private boolean sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : String.format("%.1f s", d.toMillis() / 1000.0);
    }

    private String lsnOrSlot(Lsn start) {
        return start.isZero() ? "the position of slot " + spec.slotName() : start.toString();
    }

    private interface Connect<T> {
        T open() throws SQLException;
    }

    /** Opens a connection and says which node failed, since the driver's message names only the address. */
    private static <T> T connect(String node, Connect<T> c) throws SQLException {
        try {
            return c.open();
        } catch (SQLException e) {
            throw new SQLException("node " + node + ": " + Errors.describe(e), e.getSQLState(), e);
        }
    }

    /** The capture thread died; its cause says why. */
    static final class CaptureFailedException extends Exception {
        CaptureFailedException(Throwable cause) {
            super(Errors.describe(cause), cause);
        }
    }
}
