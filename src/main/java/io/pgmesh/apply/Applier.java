package io.pgmesh.apply;

import io.pgmesh.capture.Heartbeat;
import io.pgmesh.conflict.ApplyErrorLog;
import io.pgmesh.causal.Lineage;
import io.pgmesh.ddl.DdlMessage;
import io.pgmesh.ddl.DdlReplay;
import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.pg.TableName;
import io.pgmesh.progress.AppliedProgress;
import io.pgmesh.progress.TaskProgress;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Begin;
import io.pgmesh.wal.WalMessage.Commit;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.Truncate;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one task's source transactions on its target: one target transaction per source
 * transaction, in source commit order, under the task's replication origin and with the source's
 * commit timestamp, so the origin's progress commits atomically with the data it describes.
 *
 * <p>Whole transactions travel together in a {@link StrictBatch}: one query, one round trip for
 * many transactions, each statement strict (it fails unless it changes exactly one row). A
 * conflict or an unresolvable change therefore shows as a failed transaction; the server skips the
 * rest of the query, the applier replays that transaction carefully, one statement at a time with
 * conflict resolution ({@link RowWriter}, {@link ConflictHandler}) under the task's on-error
 * setting ({@link ChangeGuard}), and goes on with the transactions after it.
 *
 * <p>While more changes wait in the queue, a full batch of whole transactions runs on the target
 * in the background ({@link BatchSender}) while the next one is built: the server and the
 * applier work at once instead of taking turns. Its outcome is collected before the next batch
 * goes and before any other use of the connection.
 */
public final class Applier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.apply");

    private final TaskSpec task;
    private final Connection conn;
    private final PreparedShapes shapes;
    private final RowWriter rows;
    private final ConflictHandler conflicts;
    private final ChangeGuard guard;
    private final ApplyEvents listener;
    /** Row changes per received transaction (by commit LSN), reported when it commits. */
    private final java.util.Map<Lsn, AppliedChanges> tallies = new java.util.HashMap<>();
    private final java.util.Map<Integer, String> tableNames = new java.util.HashMap<>();
    /** The transaction of the statement being applied carefully: its conflicts and errors are tallied to it. */
    private RemoteTxn carefulTxn;
    /** A heartbeat that came while applied work waited: the target is caught up to it once that commits. */
    private Instant heartbeat;
    private final SourceRows sourceRows;
    private final RelationCache relations = new RelationCache();
    private final Lsn startProgress;

    private final StrictBatch batch = new StrictBatch();
    private final BatchSender sender;
    /** Consecutive INSERTs into one table, sent as one multi-row statement: most of a bulk load's cost is per statement. */
    private final List<TupleData> insertRun = new ArrayList<>();
    /** INSERTs of a transaction too big for one batch, sent as COPY. */
    private final CopyRun copyRun = new CopyRun();
    private TableMapping insertRunTable;
    private static final int INSERT_RUN_ROWS = 100;

    /** The source transaction being received, null between transactions. */
    private ReceivedTxn current;
    /** Transactions that met a conflict in a chunk that could not be replayed: careful when they come again. */
    private final java.util.Set<Lsn> carefulTxns;
    private int openRows;           // row changes of a big transaction sent in earlier batches
    private int carefulRun;         // transactions still to apply carefully after a conflict: conflicts come in runs
    private static final int CAREFUL_RUN = 32;
    /**
     * A careful transaction checks deferred constraints at each statement: a violation then fails
     * the change that caused it, which on-error handles like any other, instead of the COMMIT,
     * where no single change could be named, skipped or stopped at.
     */
    private static final String BEGIN_CAREFUL = "BEGIN; SET CONSTRAINTS ALL IMMEDIATE";
    /** How long a target may take to answer while it applies a schema change: 4 hours. */
    private static final int SCHEMA_CHANGE_BOUND_MS = 4 * 3600 * 1000;
    private final AppliedProgress progress;
    private final SourceKnowledge knowledge;
    private final LineageWriter lineages;
    private final BatchRecovery.Steps recovery = new Recovery();
    private final DdlHold ddlHold;
    private final DdlReplay ddlReplay;

    private Applier(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictPolicy policy,
                    ApplySession session, StreamStart streamStart, ApplyEvents listener, java.util.Set<Lsn> carefulTxns,
                    java.util.Map<Lsn, Integer> remapped, SourceRows sourceRows, int meshNodes) throws SQLException {
        this.task = task;
        this.sourceRows = sourceRows;
        this.carefulTxns = carefulTxns;
        this.conn = conn;
        this.listener = listener;
        this.sender = new BatchSender(conn, "apply " + task);
        this.shapes = new PreparedShapes(conn, sender::quiesce);
        this.lineages = new LineageWriter(shapes);
        this.conflicts = new ConflictHandler(shapes, policy, new ConflictLog(conn, task.target().name(),
                        e -> tallyOfCareful().conflict(new AppliedChanges.ConflictMet(e.conflict().table().toString(),
                                e.conflict().type().label(), e.resolution().label()))),
                new OriginNames(conn, task.target().name()), caps.commitTimestampOrigin(), sourceRows, streamStart);
        this.rows = new RowWriter(shapes, conflicts,
                caps.commitTimestampOrigin()
                        ? SqlRenderer.sameOriginGuard(session.originId(), session.loadedThrough()) : null);
        this.guard = new ChangeGuard(task, conn, policy.onError(), new ApplyErrorLog(conn, task.target().name(),
                e -> tallyOfCareful().applyError(e.table())),
                relations::description, remapped);
        this.startProgress = session.resumeAt();
        this.progress = new AppliedProgress(session.resumeAt());
        this.knowledge = new SourceKnowledge(conn, task.source().name(), task.target().name(), meshNodes,
                session.seen(), streamStart);
        this.ddlHold = new DdlHold(conn, task.target().name());
        this.ddlReplay = DdlReplay.of(conn);
    }

    /**
     * Sets the apply session up and binds it to the task's origin ({@link ApplySession}). Fails
     * with SQLSTATE 55006 when another process holds the origin.
     */
    public static Applier open(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictPolicy policy,
                               ApplyEvents listener, java.util.Set<Lsn> carefulTxns, java.util.Map<Lsn, Integer> remapped,
                               SourceRows sourceRows,
                               int meshNodes) throws SQLException {
        StreamStart streamStart = new StreamStart(task);
        Applier applier = new Applier(task, conn, caps, policy, ApplySession.open(conn, task, streamStart), streamStart,
                listener, carefulTxns, remapped, sourceRows, meshNodes);
        java.time.Duration rtt = roundTrip(conn);
        int fit = applier.batch.fitTo(rtt);
        if (fit > 500) {
            log.info("task {}: the round trip to {} takes {} ms: batches of up to {} statements", task,
                    task.target().name(), rtt.toMillis(), fit);
        }
        return applier;
    }

    /** The shortest of three round trips to the target: what each batch costs at least. */
    private static java.time.Duration roundTrip(Connection conn) throws SQLException {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            Sql.exec(conn, "SELECT 1");
            best = Math.min(best, System.nanoTime() - t0);
        }
        return java.time.Duration.ofNanos(best);
    }

    /** Where this task stands on the target: the position to resume streaming from. */
    public Lsn startPosition() {
        return startProgress;
    }

    public Lsn appliedLsn() {
        return progress.applied();
    }

    /** True while a source transaction is being received. */
    public boolean inTransaction() {
        return current != null;
    }

    /** True when a COMMIT waits in the batch: the last applied transaction is not yet on the target. */
    public boolean hasPendingCommit() {
        return batch.hasCommits() || sender.inFlight() || knowledge.unsaved();
    }

    public void apply(WalMessage m) throws SQLException {
        if (m instanceof Begin b) {
            // A transaction whose commit lies before the resume position was applied before a restart.
            current = new ReceivedTxn(new RemoteTxn(task.source().name(), b.commitTime(), b.finalLsn(), knowledge.current()),
                    b.finalLsn().compareTo(startProgress) < 0, carefulTxns.contains(b.finalLsn()) || carefulRun > 0);
            if (carefulRun > 0) {
                carefulRun--;
            }
        } else if (m instanceof Commit c) {
            commit(c);
        } else if (m instanceof Relation r) {
            relation(r);
        } else if (m instanceof Insert || m instanceof Update || m instanceof Delete || m instanceof Truncate) {
            tally(m);
            change(m);
        } else if (m instanceof LogicalMessage lm && lm.transactional()) {
            Optional<Lineage.Message> lineage = Lineage.Message.parse(lm);
            if (lineage.isPresent()) {
                if (current != null) {
                    current.lineage(lineage.get());
                }
                return;
            }
            Optional<DdlMessage> ddl = DdlMessage.parse(lm);
            if (ddl.isPresent()) {
                schemaChange(lm, ddl.get());
            }
        } else if (m instanceof LogicalMessage lm) {
            knowledge.received(lm);
            Optional<Instant> beat = Heartbeat.parse(lm);
            if (beat.isPresent()) {
                heartbeat = beat.get();
                reportCaughtUp();
            }
        }
        // Origin and TypeInfo carry nothing to apply.
    }

    /**
     * Sends the batch, the waiting COMMITs included. Called when the queue is empty. Not in the
     * middle of a transaction: the rest of it is on its way (a transaction arrives whole, at its
     * commit), and cutting it would make a conflict in it cost a restart of the task.
     */
    public void flushPending() throws SQLException {
        if (current == null) {
            send(false);
            knowledge.save();
            reportCaughtUp();
        }
    }

    /**
     * With nothing received and not yet committed, the last heartbeat's time is reached on the
     * target, once the target answers: a round trip, so that an idle task toward a target that
     * stopped answering shows its latency growing (and then fails its statement bound) instead of
     * looking healthy.
     */
    private void reportCaughtUp() throws SQLException {
        if (heartbeat != null && current == null && !hasPendingCommit()) {
            Sql.exec(conn, "SELECT 1");
            listener.caughtUp(heartbeat);
            heartbeat = null;
        }
    }

    private AppliedChanges tallyOf(RemoteTxn t) {
        return tallies.computeIfAbsent(t.finalLsn(), k -> new AppliedChanges());
    }

    /** The tally of the transaction whose statement is being applied carefully (conflicts and errors arise only there). */
    private AppliedChanges tallyOfCareful() {
        return tallyOf(carefulTxn);
    }

    /** Counted at arrival, once: a transaction replayed after a failed batch passes {@link #change} again. */
    private void tally(WalMessage m) {
        if (current == null || current.skipped) {
            return;
        }
        AppliedChanges t = tallyOf(current.txn);
        if (m instanceof Truncate tr) {
            for (int id : tr.relationIds()) {
                t.add(tableName(id), AppliedChanges.Op.TRUNCATE);
            }
        } else if (m instanceof Insert i) {
            t.add(tableName(i.relationId()), AppliedChanges.Op.INSERT);
        } else if (m instanceof Update u) {
            t.add(tableName(u.relationId()), AppliedChanges.Op.UPDATE);
        } else if (m instanceof Delete d) {
            t.add(tableName(d.relationId()), AppliedChanges.Op.DELETE);
        }
    }

    /** The qualified name of a relation, as metrics label it; kept until the relation is described anew. */
    private String tableName(int relationId) {
        return tableNames.computeIfAbsent(relationId, id -> {
            Relation r = relations.description(id);
            return r == null ? String.valueOf(Integer.toUnsignedLong(id))
                    : (r.namespace().isEmpty() ? "pg_catalog" : r.namespace()) + "." + r.name();
        });
    }

    private void change(WalMessage m) throws SQLException {
        ReceivedTxn t = current;
        if (t == null) {
            throw new IllegalStateException("row change outside a transaction from " + task.source().name());
        }
        if (t.skipped) {
            return;
        }
        Lineage.Message lineage = lineageOf(t, m);
        if (t.careful) {
            carefulChange(t, m, lineage);
            return;
        }
        if (t.started && m instanceof Insert i && !relations.touchesUnmappable(m)) {
            TableMapping table = mapping(m);
            if (table.copyable()) {
                copy(table, i.newTuple());
                return;
            }
        }
        sendCopy();
        openEntry(t);
        if (relations.touchesUnmappable(m)) {
            // Fails the batch at this transaction, which is then replayed carefully, where the change meets on-error.
            endInsertRun();
            batch.add(t.entry, m, SqlRenderer.UNRESOLVABLE);
        } else if (m instanceof Insert i) {
            TableMapping table = mapping(m);
            if (insertRunTable != table || insertRun.size() * (long) table.columns().length >= 30_000) {
                endInsertRun();
            }
            insertRunTable = table;
            insertRun.add(i.newTuple());
            batch.keep(t.entry, m);
            if (insertRun.size() == INSERT_RUN_ROWS || lineage != null) {
                endInsertRun();
            }
        } else {
            endInsertRun();
            batch.add(t.entry, m, m instanceof Truncate tr ? truncateSql(tr) : rows.strict(mapping(m), m));
        }
        if (lineage != null) {
            // The strict statement before it wrote the version, or the batch fails and replays carefully.
            t.entry.lineage(m, lineage);
            for (String statement : lineages.statements(mapping(m), m, lineage)) {
                batch.statement(statement);
            }
        }
        // Mid-transaction only a transaction too big for a batch is cut; others wait for their commit.
        if (batch.isFull() && (batch.entries().size() == 1 || batch.isOverfull())) {
            send(false);
        }
    }

    /**
     * The lineage a row change of a first-update-wins table came with (unknown when none did),
     * null for a table that keeps none.
     */
    private Lineage.Message lineageOf(ReceivedTxn t, WalMessage m) {
        int relationId = m instanceof Insert i ? i.relationId() : m instanceof Update u ? u.relationId()
                : m instanceof Delete d ? d.relationId() : -1;
        if (relationId == -1) {
            return null;
        }
        // Taken even for a change that cannot be applied, so that it never passes to the next change of the table.
        Lineage.Message lineage = t.takeLineage(tableName(relationId));
        return relations.touchesUnmappable(m) || mapping(m).lineage() == null ? null : lineage;
    }

    /** The transaction's place in the batch being built, opened with its first statement there. */
    private void openEntry(ReceivedTxn t) throws SQLException {
        if (t.entry == null) {
            boolean begins = !t.started;
            t.entry = batch.open(t.txn, t.started);
            String seenUpdate = begins ? knowledge.statementsFor(t.txn) : null;
            if (seenUpdate != null) {
                batch.statement(seenUpdate);
            }
        }
    }

    /**
     * A schema change, at its place among the source transaction's rows. The batch is sent at once
     * with it: the relation descriptions that follow are read against the target's catalog, which
     * must have the change by then. A change that cannot run in a transaction block
     * ({@code CREATE INDEX CONCURRENTLY}) runs on its own, between the transactions before and
     * after it; its own transaction then commits only the progress.
     */
    private void schemaChange(LogicalMessage m, DdlMessage d) throws SQLException {
        if (current == null || current.skipped) {
            return;
        }
        if (d.skip() != null) {
            log.info("task {}: not replicated: {} ({})", task, d.describe(), d.skip());
            return;
        }
        sendCopy();
        endInsertRun();
        send(false);
        ReceivedTxn t = current;  // after the send: recovering a failed batch may have put another in its place
        if (ddlHold.discarded(t.txn, d)) {
            log.warn("task {}: skipped {} committed on {} at LSN {}: it was discarded with pgmesh discard", task,
                    d.describe(), t.txn.sourceNode(), t.txn.finalLsn());
            return;
        }
        if (d.outsideTransaction() && t.entry == null && !t.started) {
            try {
                withSchemaChangeBound(() -> ddlReplay.outsideTransaction(conn, d));
            } catch (SQLException e) {
                held(t.txn, d, e);
            }
            // Not kept in the entry: a replay of the entry must not run it a second time.
            openEntry(t);
            batch.statement(DdlHold.clearSql(t.txn));
            return;
        }
        if (t.careful) {
            if (!t.started) {
                beginCareful(t.txn);
                t.started = true;
            }
            t.carefulRows++;
            carefulSchemaChange(t.txn, d);
            return;
        }
        openEntry(t);
        batch.add(t.entry, m, ddlReplay.inTransaction(d));
        batch.statement(DdlHold.clearSql(t.txn));
        withSchemaChangeBound(() -> send(false));
    }

    private interface Step {
        void run() throws SQLException;
    }

    /**
     * A schema change may rightly run long (a table rewrite, an index build): the connection's
     * bound on an answer becomes {@link #SCHEMA_CHANGE_BOUND_MS} while it runs, and the server's
     * own is lifted by the change's statements ({@link DdlReplay}).
     */
    private void withSchemaChangeBound(Step step) throws SQLException {
        int bound = conn.getNetworkTimeout();
        conn.setNetworkTimeout(Runnable::run, SCHEMA_CHANGE_BOUND_MS);
        try {
            step.run();
        } finally {
            conn.setNetworkTimeout(Runnable::run, bound);
        }
    }

    /** A schema change of a transaction applied carefully; one that fails holds the task there. */
    private void carefulSchemaChange(RemoteTxn t, DdlMessage d) throws SQLException {
        try {
            withSchemaChangeBound(() -> Sql.exec(conn, ddlReplay.inTransaction(d) + ";\n" + DdlHold.clearSql(t)));
        } catch (SQLException e) {
            held(t, d, e);
        }
    }

    /**
     * A schema change failed on the target: whatever on-error says, nothing after it may be
     * applied (the rows that follow were written for the changed schema). The transaction rolls
     * back, the failure is recorded in {@code pgmesh.apply_errors} for retry or discard, and the
     * task retries from before it.
     */
    private void held(RemoteTxn t, DdlMessage d, SQLException e) throws SQLException {
        if (SqlStates.isTransient(e) || SqlStates.LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
            throw e;  // the task retries it: a lock it waited for too long is no fault of the change
        }
        Sql.exec(conn, "ROLLBACK");
        throw ddlHold.record(t, d, e);
    }

    /** An INSERT of a transaction already cut into batches (a big one): it joins the COPY run. */
    private void copy(TableMapping table, TupleData row) throws SQLException {
        int[] cols = table.writableIn(row);
        if (copyRun.breaksOn(table, cols)) {
            sendCopy();
        }
        copyRun.add(table, cols, row);
        if (copyRun.isFull()) {
            sendCopy();
        }
    }

    /**
     * Sends the COPY run, after what the batch holds before it, then checks its keys against the
     * tombstones of other origins (what the strict INSERT checks in its own statement). A failure
     * (a key that exists or was deleted, a value refused) leaves the transaction's earlier chunks
     * rolled back and not kept: the transaction must come again from the source and be applied
     * carefully.
     */
    private void sendCopy() throws SQLException {
        if (copyRun.isEmpty()) {
            return;
        }
        send(false);
        TableMapping table = copyRun.table();
        String[] keys = copyRun.keyArrays();
        String why = "a conflict or error in a COPY into " + table.table();
        try {
            openRows += copyRun.send(conn);
            if (keys != null && rows.guard() != null) {
                why = "a key of its COPY into " + table.table() + " that another node's change deleted here";
                Sql.exec(conn, rows.noneDeletedAmong(table, keys));
            }
        } catch (SQLException e) {
            copyRun.clear();
            if (SqlStates.isTransient(e)) {
                throw e;
            }
            RemoteTxn txn = current.txn;
            carefulTxns.add(txn.finalLsn());
            throw new ReplayNeededException("the transaction committed at " + txn.finalLsn() + " on " + txn.sourceNode()
                    + " met " + why + " (" + SqlRenderer.describeStrictFailure(e)
                    + "); it will be received again and applied statement by statement");
        }
    }

    private void endInsertRun() throws SQLException {
        if (insertRun.isEmpty()) {
            return;
        }
        batch.statement(rows.strictInserts(insertRunTable, insertRun));
        insertRun.clear();
        insertRunTable = null;
    }

    private void commit(Commit c) throws SQLException {
        ReceivedTxn t = current;
        if (t != null && t.careful && t.started) {
            Sql.exec(conn, commitSql(t.txn, c, true));
            committed(t.txn, c, t.carefulRows);
            carefulTxns.remove(t.txn.finalLsn());
        } else if (t != null && !t.skipped && (t.entry != null || t.started)) {
            sendCopy();
            if (t.entry == null) {
                t.entry = batch.open(t.txn, true);
            }
            endInsertRun();
            batch.commit(t.entry, c, commitSql(t.txn, c, false));
        }
        current = null;
        // The last chunk of a big transaction goes alone: its failure must not be mistaken for a later one's.
        if (batch.isFull() || batch.isContinuation()) {
            send(true);
        }
    }

    /** A change of a transaction applied carefully: checked statement by statement, conflicts resolved. */
    private void carefulChange(ReceivedTxn t, WalMessage m, Lineage.Message lineage) throws SQLException {
        if (!t.started) {
            send(false); // what is batched comes first
            beginCareful(t.txn);
            t.started = true;
        }
        t.carefulRows++;
        carefulStatement(t.txn, m, lineage);
    }

    /** Opens a transaction applied carefully, with what its source had seen in place for the guard. */
    private void beginCareful(RemoteTxn t) throws SQLException {
        Sql.exec(conn, BEGIN_CAREFUL);
        String seenUpdate = knowledge.statementsFor(t);
        if (seenUpdate != null) {
            Sql.exec(conn, seenUpdate);
        }
    }

    /**
     * The statements that end an applied transaction; with {@code beacon}, they also tell the
     * other nodes what is applied here. A transaction applied carefully carries its own; a strict
     * batch's last transaction carries one for the batch ({@link #send}).
     */
    private static String commitSql(RemoteTxn t, Commit c, boolean beacon) {
        return TaskProgress.commit(t.sourceNode(), c.endLsn(), c.commitTime(), t.seen(), beacon);
    }

    /** {@code lineage}: what the change came with, when its table keeps one ({@link #lineageOf}). */
    private void carefulStatement(RemoteTxn t, WalMessage m, Lineage.Message lineage) throws SQLException {
        if (m instanceof LogicalMessage lm) {
            carefulSchemaChange(t, DdlMessage.parse(lm).orElseThrow());
            return;
        }
        carefulTxn = t;
        conflicts.remoteLineage(lineage);
        guard.apply(t, m, () -> {
            String lost = relations.lostValue(m);
            if (lost != null) {
                throw new UnresolvableChangeException(lost, null);
            }
            if (m instanceof Insert i) {
                rows.insert(t, mapping(m), i.newTuple());
            } else if (m instanceof Update u) {
                rows.update(t, mapping(m), u);
            } else if (m instanceof Delete d) {
                rows.delete(t, mapping(m), d);
            } else if (m instanceof Truncate tr) {
                Sql.exec(conn, truncateSql(tr));
            }
            if (lineage != null) {
                lineages.afterCareful(mapping(m), m, lineage);
            }
        });
    }

    /**
     * Sends the batch. With {@code overlap} a batch of whole transactions runs in the background
     * while the next one is built (the queue holds more); otherwise the call returns once the
     * server has run it. Either way the batch before it is collected first.
     */
    private void send(boolean overlap) throws SQLException {
        collect();
        endInsertRun();
        if (batch.isEmpty()) {
            return;
        }
        List<StrictBatch.Entry> sent = new ArrayList<>(batch.entries());
        boolean continuation = batch.isContinuation();
        // The batch's transactions commit in order: one beacon, at the last, tells about them all.
        String sql = batch.sql(TaskProgress::withBeacon);
        batch.clear();
        boolean open = current != null && current.entry != null;  // it goes on in the next batch
        if (current != null) {
            current.entry = null;
        }
        if (overlap && !open && !continuation) {
            sender.start(sent, sql);
            return;
        }
        try {
            Sql.exec(conn, sql);
        } catch (SQLException e) {
            if (SqlStates.isTransient(e)) {
                throw e;
            }
            recover(sent, continuation, e);
            return;
        }
        ran(sent);
        if (open) {
            current.started = true;
        }
    }

    /**
     * Takes the outcome of the batch in flight. When it failed, the transactions built since
     * then come after its own: they are taken out of the batch being built and go, in order,
     * through the same recovery as the failed batch's later transactions.
     */
    private void collect() throws SQLException {
        BatchSender.Outcome done = sender.collect();
        if (done == null) {
            return;
        }
        if (done.failure() == null) {
            ran(done.entries());
            return;
        }
        if (SqlStates.isTransient(done.failure())) {
            throw done.failure();
        }
        List<StrictBatch.Entry> all = new ArrayList<>(done.entries());
        all.addAll(batch.entries());
        batch.clear();
        insertRun.clear();  // its messages are kept in their entries
        insertRunTable = null;
        if (current != null) {
            current.entry = null;
        }
        recover(all, false, done.failure());
    }

    /** Every statement of a batch ran: its transactions are committed, a big one's chunk is in. */
    private void ran(List<StrictBatch.Entry> sent) {
        for (StrictBatch.Entry e : sent) {
            if (e.commit != null) {
                committed(e.txn, e.commit, openRows + e.messages.size());
                openRows = 0;
            } else {
                openRows += e.messages.size();  // a big transaction: its rows count when it commits
            }
        }
    }

    private void committed(RemoteTxn t, Commit c, int rows) {
        progress.committed(c.endLsn());
        knowledge.committed(t);
        AppliedChanges changes = tallies.remove(t.finalLsn());
        listener.committed(c.commitTime(), rows, changes == null ? new AppliedChanges() : changes);
    }

    /**
     * A strict batch failed ({@link BatchRecovery}). The transaction being received goes on
     * after the recovery as it was, unless it was in the batch and its recovery left it open.
     */
    private void recover(List<StrictBatch.Entry> sent, boolean continuation, SQLException cause) throws SQLException {
        knowledge.unknown();
        ReceivedTxn receiving = current;
        BatchRecovery.recover(sent, continuation, cause, recovery);
        if (current == null) {
            current = receiving;
        }
    }

    /** The applier's side of a batch recovery. */
    private final class Recovery implements BatchRecovery.Steps {
        @Override
        public void rollback() throws SQLException {
            Sql.exec(conn, "ROLLBACK");
        }

        @Override
        public Lsn committedThrough() throws SQLException {
            return TaskProgress.lastCommit(conn, task.source().name()).orElse(Lsn.ZERO);
        }

        @Override
        public void committed(StrictBatch.Entry e) {
            Applier.this.committed(e.txn, e.commit, e.messages.size());
        }

        /**
         * Conflicts come in runs (a backlog of one node's changes to rows another node changed
         * too): the transactions after a conflict go carefully for a while, instead of failing
         * one batch each.
         */
        @Override
        public void replay(StrictBatch.Entry e) throws SQLException {
            log.debug("task {}: transaction at {} met a conflict or error; replaying it statement by statement", task,
                    e.txn.finalLsn());
            beginCareful(e.txn);
            for (WalMessage m : e.messages) {
                carefulStatement(e.txn, m, e.lineageOf(m));
            }
            if (e.commit != null) {
                Sql.exec(conn, commitSql(e.txn, e.commit, true));
                Applier.this.committed(e.txn, e.commit, e.messages.size());
            } else {
                // The transaction being received: it stays open on the server and goes on carefully.
                current.started = true;
                current.careful = true;
                current.carefulRows = e.messages.size();
            }
            carefulRun = CAREFUL_RUN;
        }

        @Override
        public void reapply(StrictBatch.Entry e) throws SQLException {
            current = new ReceivedTxn(e.txn, false, true);
            for (WalMessage m : e.messages) {
                if (m instanceof LogicalMessage lm) {
                    schemaChange(lm, DdlMessage.parse(lm).orElseThrow());
                } else {
                    Lineage.Message lineage = e.lineageOf(m);
                    if (lineage != null) {
                        current.lineage(lineage);
                    }
                    change(m);
                }
            }
            if (e.commit != null) {
                commit(e.commit);
            }
        }

        @Override
        public void markCareful(RemoteTxn txn) {
            carefulTxns.add(txn.finalLsn());
        }
    }

    /** Only this position may be confirmed to the source ({@link AppliedProgress}). */
    public Lsn refreshDurable() throws SQLException {
        collect();
        if (current == null) {
            knowledge.pruneIfDue();
        }
        return progress.refreshDurable(conn);
    }

    private void relation(Relation r) throws SQLException {
        tableNames.remove(r.relationId());
        if (r.equals(relations.description(r.relationId()))) {
            // Sent again after a cache invalidation on the source, unchanged: nothing to redo, and no
            // reason to cut the batch (a transaction cut in two is dearer to replay after a conflict).
            return;
        }
        if (relations.isKnown(r.relationId())) {
            sendCopy();
            send(false); // queued statements use the prepared statements about to be replaced
            shapes.invalidate(r.relationId());
        }
        sender.quiesce();
        relations.describe(r, conn);
    }

    private TableMapping mapping(WalMessage change) {
        return relations.mapping(change);
    }

    private String truncateSql(Truncate t) {
        List<TableName> tables = new ArrayList<>();
        for (int id : t.relationIds()) {
            tables.add(relations.mapping(id).table());
        }
        return SqlRenderer.truncate(tables, t.restartIdentity());
    }

    /** The target session the changes are applied in. */
    public Connection connection() {
        return conn;
    }

    /** Abandons whatever was not committed: the source sends it again after a restart. */
    public void abort() {
        knowledge.unknown();
        tallies.clear();
        heartbeat = null;
        sender.abandon();
        batch.clear();
        copyRun.clear();
        insertRun.clear();
        insertRunTable = null;
        try {
            Sql.exec(conn, "ROLLBACK");
        } catch (SQLException ignored) {
            // the connection is broken; the server rolls back by itself
        }
        current = null;
    }

    @Override
    public void close() {
        abort();
        sender.close();
        sourceRows.close();
        try {
            conn.close();
        } catch (SQLException ignored) {
            // nothing left to release
        }
    }
}
