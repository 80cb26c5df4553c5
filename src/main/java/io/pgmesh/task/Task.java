package io.pgmesh.task;

import io.pgmesh.apply.Applier;
import io.pgmesh.apply.ApplyStoppedException;
import io.pgmesh.apply.ReplayNeededException;
import io.pgmesh.apply.SourceRows;
import io.pgmesh.capture.Capture;
import io.pgmesh.capture.ChangeStream;
import io.pgmesh.progress.FlushPosition;
import io.pgmesh.capture.SlotLostException;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.capture.SourceWatch;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.metrics.TaskMetrics;
import io.pgmesh.pg.Deadline;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.setup.MeshState;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.wal.WalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
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
    /** How often a task held back by an unfinished load looks again. */
    private static final Duration LOAD_RECHECK = Duration.ofSeconds(2);
    /** The bound on a question to the source outside the stream: whether it still answers, a row by key. */
    static final Duration PROBE_BOUND = Duration.ofSeconds(10);
    /** The bound on the watchdog's question; short, since a stop may wait for it. */
    static final Duration WATCH_BOUND = Duration.ofSeconds(5);

    private final TaskSpec spec;
    /** How many nodes the mesh has: from three on, a source can hold values a third node wrote. */
    private final int meshNodes;
    /** The mesh's initial-load.from node, or null. */
    private final String loadSource;
    private final NodePreparer sourcePreparer;
    private final NodePreparer targetPreparer;
    private final ConflictPolicy policy;
    private final RetryPolicy retry;
    private final TaskMetrics metrics;
    /** This process as the task's lease names it. */
    private final LeaseHolder me;
    /** Renews the lease while an attempt runs. */
    private volatile LeaseKeeper keeper;
    /** Why the lease left this process during the attempt that ends now, or null. */
    private volatile LeaseKeeper.Loss leaseLost;
    /** Transactions (by commit LSN) to apply statement by statement: they failed in a strict batch before. */
    private final java.util.Set<Lsn> carefulTxns = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Per transaction, how often it met a table or column its target lacked (see ChangeGuard). */
    private final java.util.Map<Lsn, Integer> remapped = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean running = true;
    private volatile TaskState state = TaskState.CONNECTING;
    private volatile String detail;
    private volatile Instant since = Instant.now();
    /** The replication connection while a stream runs: what a forced stop drops. */
    private volatile Connection streaming;
    private volatile Thread thread;
    /** The target session while an applier uses it: what {@link #stop} cancels. */
    private volatile Connection applying;

    public Task(TaskSpec spec, int meshNodes, String loadSource, NodePreparer sourcePreparer, NodePreparer targetPreparer,
                ConflictPolicy policy, RetryPolicy retry, TaskMetrics metrics, LeaseHolder me) {
        this.spec = spec;
        this.me = me;
        this.metrics = metrics;
        this.meshNodes = meshNodes;
        this.loadSource = loadSource;
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

    /** When the task entered its current state. */
    public Instant since() {
        return since;
    }

    public TaskMetrics metrics() {
        return metrics;
    }

    /**
     * Attempts until stopped or failed for good. Whatever ends an attempt, an Error included (a
     * bug such as a stack overflow, or memory running out), ends in a state the user can see: the
     * log, {@code status} and the exit code of {@code run} say what happened; the thread never
     * dies silently while the process looks healthy.
     */
    @Override
    public void run() {
        thread = Thread.currentThread();
        int failures = 0;
        try {
            while (running) {
                long started = System.nanoTime();
                try {
                    attempt();
                } catch (SlotLostException | TaskBlockedException | ApplyStoppedException e) {
                    setState(TaskState.FAILED, e.getMessage());
                    return;
                } catch (ReplayNeededException e) {
                    log.info("task {}: {}", spec, e.getMessage());
                } catch (LeaseHeldException e) {
                    failures = 0;
                    if (e.foreign()) {
                        // Unhealthy on purpose: two mesh files for one mesh is for a person to settle.
                        setState(TaskState.WAITING, e.getMessage());
                        if (!sleep(TaskLease.STANDBY_RECHECK)) {
                            break;
                        }
                    } else if (!standBy(e.getMessage())) {
                        break;
                    }
                } catch (LoadPendingException e) {
                    // Not a failure: the load that completes the node may be running right now.
                    setState(TaskState.WAITING, e.getMessage());
                    if (!sleep(LOAD_RECHECK)) {
                        break;
                    }
                } catch (Throwable e) {
                    if (!running) {
                        break;
                    }
                    LeaseKeeper.Loss lost = leaseLost;
                    if (lost != null && lost.toAnother()) {
                        // Not a failure of this task: another process applies it now.
                        failures = 0;
                        if (!standBy(lost.why())) {
                            break;
                        }
                        continue;
                    }
                    if (SqlStates.OBJECT_IN_USE.equals(SqlStates.of(e))) {
                        // The origin or the slot of a holder that was just ended: it is free within moments.
                        failures = 0;
                    }
                    if (System.nanoTime() - started > HEALTHY_STREAMING.toNanos()) {
                        failures = 0;
                    }
                    Duration delay = retry.delay(failures++);
                    // A lease that could not be renewed dropped the connections: its reason is the cause.
                    setState(TaskState.RETRYING, "retrying in " + seconds(delay) + " because "
                            + (lost != null ? lost.why() : Errors.describe(e)));
                    if (e instanceof Error) {
                        // Not a condition of the databases: the stack is what a bug report needs.
                        log.error("task {}: {} (a bug in pgmesh; please report it with this trace)", spec, e, e);
                    } else {
                        log.debug("task {} failure", spec, e);
                    }
                    if (!awaitRetry(delay)) {
                        break;
                    }
                }
            }
            setState(TaskState.STOPPED, "stopped");
        } catch (Throwable last) {
            // Even the bookkeeping failed (out of memory): still leave a state behind.
            state = TaskState.FAILED;
            detail = "failed: " + Errors.describe(last);
            since = Instant.now();
            throw last;
        }
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

    /** Says that another process holds the task and waits a little before looking again. False when stopped. */
    private boolean standBy(String why) {
        setState(TaskState.STANDBY, why);
        // Looks through one idle session until the lease could be taken (or the look fails, which
        // the next attempt then names), rather than opening both connections of an attempt each time.
        try (Connection look = PgConnector.connect(spec.target(), "standby " + spec, WATCH_BOUND)) {
            do {
                if (!sleep(TaskLease.STANDBY_RECHECK)) {
                    return false;
                }
            } while (running && !TaskLease.worthAnAttempt(look, spec.source().name(), me));
        } catch (SQLException e) {
            log.debug("task {}: looking at the lease failed: {}", spec, Errors.describe(e));
            return sleep(TaskLease.STANDBY_RECHECK);
        }
        return running;
    }

    /**
     * The lease left this process (taken, handed over, or not renewable): the task stops applying
     * at once. Its connections are dropped; what it had not committed rolls back with its progress.
     */
    private void leaseLost(LeaseKeeper.Loss loss) {
        leaseLost = loss;
        log.warn("task {}: {}", spec, loss.why());
        // Not an interrupt: that is how stop() ends the task, and this task stands by instead. A
        // blocked read or write fails at once on a dropped connection; a wait on the queue ends
        // within 50 ms at the next use of the target.
        abortConnections();
    }

    private void attempt() throws Exception {
        leaseLost = null;
        try {
            connectAndStream();
        } finally {
            applying = null;
            LeaseKeeper k = keeper;
            keeper = null;
            if (k != null) {
                k.close(!running);
            }
        }
    }

    /** Ends the attempt when the lease left while it was setting up or streaming. */
    private void checkLease() throws LeaseGoneException {
        LeaseKeeper.Loss lost = leaseLost;
        if (lost != null) {
            throw new LeaseGoneException(lost.why());
        }
    }

    /** The lease left this process during an attempt; {@link #leaseLost} says how. */
    static final class LeaseGoneException extends Exception {
        LeaseGoneException(String why) {
            super(why);
        }
    }

    /**
     * Takes the task's lease through the apply session, or throws when another process holds it.
     * From here on the keeper renews it; should it leave, the attempt ends at once.
     */
    private void takeLease(Connection target) throws SQLException, LeaseHeldException {
        long taken = System.nanoTime();
        String from = TaskLease.acquire(target, spec.source().name(), me, "pgmesh apply " + spec);
        if (from != null) {
            // Info, not a warning: a restart or a stop of the other process looks the same from here.
            log.info("task {}: took the task over from {}, which no longer applies it on {} (it stopped, its"
                    + " session there ended, or its lease ran out)", spec, from, spec.target().name());
        }
        keeper = new LeaseKeeper(spec.target(), spec.source().name(), me, spec.toString(), taken, this::leaseLost);
    }

    private void connectAndStream() throws Exception {
        String connecting = "connecting to " + PgConnector.describe(spec.source()) + " and "
                + PgConnector.describe(spec.target());
        if (state != TaskState.STANDBY) {
            // A standby looks every few seconds: it says so once, and again when it takes the task.
            setState(TaskState.CONNECTING, connecting);
        }
        Applier applier;
        ServerCapabilities sourceCaps;
        Duration senderTimeout;
        try (Connection source = connect(spec.source().name(),
                () -> PgConnector.connect(spec.source(), "capture " + spec, PgConnector.RUN_STATEMENT_BOUND))) {
            sourceCaps = ServerCapabilities.of(source);
            senderTimeout = Duration.ofMillis(Sql.queryInt(source,
                    "SELECT setting::int FROM pg_settings WHERE name = 'wal_sender_timeout'"));
            Connection target = connect(spec.target().name(),
                    () -> PgConnector.connectApply(spec.target(), "apply " + spec, PgConnector.RUN_STATEMENT_BOUND));
            applying = target; // from now on a stop, or a lost lease, can drop it
            Lsn loadedAt;
            try {
                Optional<String> removed = MembershipGate.removed(spec, source, target);
                if (removed.isPresent()) {
                    throw new TaskBlockedException(removed.get());
                }
                Optional<String> wait = LoadGate.reason(spec, loadSource, source, target);
                if (wait.isPresent()) {
                    throw new LoadPendingException(wait.get());
                }
                // Only now: a node is prepared once per process (publication, tombstone triggers), and
                // a node still being loaded lacks the tables those are for.
                sourcePreparer.ensure(source);
                targetPreparer.ensure(target);
                takeLease(target);
                if (state == TaskState.STANDBY) {
                    setState(TaskState.CONNECTING, "took the lease; " + connecting);
                }
                loadedAt = MeshState.loadedAt(target, spec.source().name()).orElse(null);
                applier = Applier.open(spec, target, ServerCapabilities.of(target), policy, metrics, carefulTxns, remapped,
                        new SourceRows(() -> PgConnector.connect(spec.source(), "lookup " + spec, PROBE_BOUND),
                                meshNodes > 2), meshNodes);
            } catch (Throwable e) {
                target.close();
                throw e;
            }
            try {
                checkLease();
                endStaleStream(source);
                SlotManager.ensure(source, sourceCaps, spec, applier.startPosition(), loadedAt);
            } catch (Throwable e) {
                applier.close();
                throw e;
            }
        }
        applying = applier.connection();
        try (applier) {
            if (!running) {
                return; // stopped while connecting: a cancel sent before now found nothing to cancel
            }
            Connection repl = connect(spec.source().name(),
                    () -> PgConnector.connectReplication(spec.source(), "capture " + spec));
            streaming = repl;
            try {
                ChangeStream stream = Deadline.abortUnlessDone(repl, PROBE_BOUND, () -> ChangeStream.start(
                        repl.unwrap(PGConnection.class), spec.slotName(), applier.startPosition(), sourceCaps));
                try (SourceWatch watch = new SourceWatch(spec, repl.unwrap(PGConnection.class).getBackendPID(),
                        quietBound(senderTimeout), WATCH_BOUND)) {
                    stream(applier, stream, watch);
                } catch (Throwable e) {
                    // Before the stream's close, which waits for the source's answer: the source may be
                    // the node that stopped answering (a cut link never says so).
                    Deadline.abort(repl);
                    throw e;
                } finally {
                    Deadline.abortUnlessDone(repl, WATCH_BOUND, () -> {
                        closeQuietly(stream);
                        return null;
                    });
                }
            } catch (Throwable e) {
                // Whatever ended the stream, a graceful close would wait for an answer of the source,
                // which may be the node that stopped answering: drop the connection instead.
                Deadline.abort(repl);
                throw e;
            } finally {
                streaming = null;
                repl.close();
            }
        } finally {
            applying = null;
        }
    }

    /**
     * A walsender still streaming this task's slot belongs to a holder that lost the lease (this
     * process holds it and the origin now): it is ended, or the slot would stay busy until that
     * holder's host notices its connection is gone.
     */
    private void endStaleStream(Connection source) throws SQLException {
        // Only pgmesh's own stream: another client holding the slot (pg_recvlogical, a test) is left alone.
        Sql.queryString(source, "SELECT pg_terminate_backend(s.active_pid, 5000) FROM pg_replication_slots s"
                + " JOIN pg_stat_activity a ON a.pid = s.active_pid"
                + " WHERE s.slot_name = ? AND a.application_name LIKE 'pgmesh capture %'", spec.slotName()).ifPresent(ended ->
                log.info("task {}: ended the stream of slot {} that an earlier holder left behind", spec, spec.slotName()));
    }

    private void stream(Applier applier, ChangeStream stream, SourceWatch watch) throws Exception {
        BlockingQueue<WalMessage> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
        FlushPosition flush = new FlushPosition(applier.startPosition());
        Capture capture = new Capture(stream, queue, flush, metrics);
        Thread captureThread = new Thread(capture, "capture " + spec);
        captureThread.setDaemon(true);
        captureThread.start();
        setState(TaskState.STREAMING, "streaming from " + lsnOrSlot(applier.startPosition()));
        try {
            applyLoop(applier, queue, flush, capture, watch);
            checkLease();
        } finally {
            capture.stop();
            captureThread.join(5000);
        }
    }

    private void applyLoop(Applier applier, BlockingQueue<WalMessage> queue, FlushPosition flush, Capture capture,
                           SourceWatch watch) throws Exception {
        long lastRefresh = System.nanoTime();
        while (running && leaseLost == null) {
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
                watch.quiet(capture.lastMessageNanos());
                continue;
            }
            if (m instanceof WalMessage.Commit || m instanceof WalMessage.LogicalMessage) {
                // Before it counts as processed: capture must not confirm past it until it is on disk
                // (a commit's data, a beacon's knowledge).
                flush.committed();
            }
            applier.apply(m);
            flush.processed();
            if (System.nanoTime() - lastRefresh > DURABLE_REFRESH_NANOS && !applier.inTransaction()) {
                refreshDurable(applier, flush);
                lastRefresh = System.nanoTime();
            }
        }
    }

    /**
     * How long the stream may stay silent before the source is asked whether it is still there:
     * a quarter of the source's {@code wal_sender_timeout}, between 5 and 30 seconds. An idle
     * source sends nothing at all once everything is confirmed, so silence alone proves nothing.
     */
    static Duration quietBound(Duration walSenderTimeout) {
        long ms = walSenderTimeout.isZero() ? 60_000 : walSenderTimeout.toMillis();
        return Duration.ofMillis(Math.max(5_000, Math.min(30_000, ms / 4)));
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // the stream is gone either way
        }
    }

    private static void refreshDurable(Applier applier, FlushPosition flush) throws SQLException {
        if (applier.inTransaction()) {
            return;
        }
        Lsn durable = applier.refreshDurable();
        flush.durable(durable, durable.compareTo(applier.appliedLsn()) >= 0 && !applier.hasPendingCommit());
    }

    /**
     * Drops the task's connections without a word to the servers: for a stop that must end now
     * although a node does not answer. What was not committed rolls back on the server, with its
     * progress, so nothing is lost or applied twice.
     */
    void abortConnections() {
        Deadline.abort(applying);
        Deadline.abort(streaming);
    }

    private void setState(TaskState next, String detail) {
        if ((next == TaskState.STANDBY || next == TaskState.WAITING) && next == state && detail.equals(this.detail)) {
            return; // looked again and nothing changed: one line per change, not one per look
        }
        this.detail = detail;
        if (next != state) {
            since = Instant.now();
        }
        state = next;
        if (next == TaskState.FAILED) {
            metrics.error(Instant.now() + " " + detail);
            log.error("task {}: {}", spec, detail);
        } else if (next == TaskState.RETRYING) {
            metrics.error(Instant.now() + " " + detail);
            log.warn("task {}: {}", spec, detail);
        } else {
            log.info("task {}: {}", spec, detail);
        }
    }

    /** Set by {@link #retryNow}, cleared when the retry it cut short begins. */
    private final Object retryWake = new Object();
    private boolean retryWoken;

    /**
     * The wait before the next attempt, cut short by {@link #retryNow}. False when interrupted.
     */
    private boolean awaitRetry(Duration d) {
        long deadline = System.nanoTime() + d.toNanos();
        synchronized (retryWake) {
            try {
                long left;
                while (!retryWoken && (left = deadline - System.nanoTime()) > 0) {
                    retryWake.wait(Math.max(1, left / 1_000_000));
                }
                return true;
            } catch (InterruptedException e) {
                return false;
            } finally {
                retryWoken = false;
            }
        }
    }

    /**
     * A node of this task answers again: a task waiting to retry tries at once, rather than at
     * the end of a delay that may have grown to the cap while the node was away.
     */
    public void retryNow() {
        if (state != TaskState.RETRYING) {
            return;
        }
        synchronized (retryWake) {
            retryWoken = true;
            retryWake.notifyAll();
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
