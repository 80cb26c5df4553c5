package io.pgmesh.apply;

import io.pgmesh.conflict.ApplyErrorLog;
import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.pg.TableName;
import io.pgmesh.progress.OriginSession;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Begin;
import io.pgmesh.wal.WalMessage.Commit;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.Truncate;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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

    /** Told about every transaction once its COMMIT has run on the target. */
    @FunctionalInterface
    public interface CommitListener {
        void committed(Instant sourceCommitTime, long conflictsSoFar, int rows);
    }

    private final TaskSpec task;
    private final Connection conn;
    private final PreparedShapes shapes;
    private final RowWriter rows;
    private final ConflictHandler conflicts;
    private final ChangeGuard guard;
    private final CommitListener listener;
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

    private RemoteTxn txn;          // the source transaction being received, null between transactions
    private boolean txnSkipped;     // already applied before a restart
    private StrictBatch.Entry entry; // its place in the batch being built, null until its first change there
    private boolean txnStarted;     // part of it already ran on the server in an earlier batch
    private boolean txnCareful;     // applied statement by statement (it met a conflict in a strict batch before)
    private final java.util.Set<Lsn> carefulTxns;
    private int carefulRows;        // row changes of the transaction being applied carefully
    private int openRows;           // row changes of a big transaction sent in earlier batches
    private int carefulRun;         // transactions still to apply carefully after a conflict: conflicts come in runs
    private static final int CAREFUL_RUN = 32;
    private static final String COMMIT_STATEMENT = "pgmesh_commit";
    /**
     * A careful transaction checks deferred constraints at each statement: a violation then fails
     * the change that caused it, which on-error handles like any other, instead of the COMMIT,
     * where no single change could be named, skipped or stopped at.
     */
    private static final String BEGIN_CAREFUL = "BEGIN; SET CONSTRAINTS ALL IMMEDIATE";
    private Lsn appliedLsn;         // end of the last transaction committed on the target (maybe not yet flushed)
    private Lsn durableLsn;         // end of the last transaction known to be on disk

    private Applier(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictPolicy policy, int originId,
                    String loadedThrough, Lsn progress, CommitListener listener, java.util.Set<Lsn> carefulTxns,
                    SourceRows sourceRows) throws SQLException {
        this.task = task;
        this.sourceRows = sourceRows;
        this.carefulTxns = carefulTxns;
        this.conn = conn;
        this.listener = listener;
        this.sender = new BatchSender(conn, "apply " + task);
        this.shapes = new PreparedShapes(conn, sender::quiesce);
        this.conflicts = new ConflictHandler(shapes, policy, new ConflictLog(conn, task.target().name()),
                new OriginNames(conn, task.target().name()), caps.commitTimestampOrigin(), sourceRows);
        this.rows = new RowWriter(shapes, conflicts,
                caps.commitTimestampOrigin() ? SqlRenderer.sameOriginGuard(originId, loadedThrough) : null);
        this.guard = new ChangeGuard(task, conn, policy.onError(), new ApplyErrorLog(conn, task.target().name()),
                relations::description);
        this.startProgress = progress;
        this.appliedLsn = progress;
        this.durableLsn = progress;
    }

    /**
     * Sets the apply session up and binds it to the task's origin ({@link OriginSession}). Fails
     * with SQLSTATE 55006 when another process holds the origin: PostgreSQL itself is the lease
     * between two pgmesh processes.
     */
    public static Applier open(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictPolicy policy,
                               CommitListener listener, java.util.Set<Lsn> carefulTxns, SourceRows sourceRows)
            throws SQLException {
        conn.setAutoCommit(true);
        Sql.exec(conn, "SET session_replication_role = replica");
        // Commits need not wait for the disk: only LSNs that the origin reports flushed are confirmed.
        Sql.exec(conn, "SET synchronous_commit = off");
        // Every statement of the apply looks a row up by its key, as PostgreSQL's own apply worker
        // does through the replica identity index. The planner would pick a sequential scan for
        // a small table, which costs more with every dead version a busy small table collects.
        Sql.exec(conn, "SET enable_seqscan = off");
        // The prepared shapes are the same statements over and over: planning each anew for the
        // first executions (and whenever a custom plan looks cheaper) is wasted work.
        Sql.exec(conn, "SET plan_cache_mode = force_generic_plan");
        // With sequential scans priced out, a statement that must scan (a table with REPLICA
        // IDENTITY FULL and no index) looks costly enough to be JIT-compiled at every execution.
        Sql.exec(conn, "SET jit = off");
        Sql.exec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + SqlRenderer.SINK + " ()");
        Sql.exec(conn, "PREPARE " + COMMIT_STATEMENT + " " + SqlRenderer.commitOrigin(task.source().name()));
        String loadedThrough = Sql.queryString(conn, "SELECT finished_at::text FROM pgmesh.initial_load"
                + " WHERE source_node = ? AND state = 'done'", task.source().name()).orElse(null);
        Lsn applied = OriginSession.take(conn, task.originName(), task.source().name(), () -> { });
        int originId = Sql.queryInt(conn, "SELECT pg_replication_origin_oid(?)", task.originName());
        return new Applier(task, conn, caps, policy, originId, loadedThrough, applied, listener, carefulTxns, sourceRows);
    }

    /** Where this task stands on the target: the position to resume streaming from. */
    public Lsn startPosition() {
        return startProgress;
    }

    public Lsn appliedLsn() {
        return appliedLsn;
    }

    /** True while a source transaction is being received. */
    public boolean inTransaction() {
        return txn != null;
    }

    /** True when a COMMIT waits in the batch: the last applied transaction is not yet on the target. */
    public boolean hasPendingCommit() {
        return batch.hasCommits() || sender.inFlight();
    }

    public void apply(WalMessage m) throws SQLException {
        if (m instanceof Begin b) {
            txn = new RemoteTxn(task.source().name(), b.commitTime(), b.finalLsn());
            // A transaction whose commit lies before the resume position was applied before a restart.
            txnSkipped = b.finalLsn().compareTo(startProgress) < 0;
            entry = null;
            txnStarted = false;
            carefulRows = 0;
            txnCareful = carefulTxns.contains(b.finalLsn()) || carefulRun > 0;
            if (carefulRun > 0) {
                carefulRun--;
            }
        } else if (m instanceof Commit c) {
            commit(c);
        } else if (m instanceof Relation r) {
            relation(r);
        } else if (m instanceof Insert || m instanceof Update || m instanceof Delete || m instanceof Truncate) {
            change(m);
        }
        // Origin, TypeInfo and LogicalMessage carry nothing to apply.
    }

    /**
     * Sends the batch, the waiting COMMITs included. Called when the queue is empty. Not in the
     * middle of a transaction: the rest of it is on its way (a transaction arrives whole, at its
     * commit), and cutting it would make a conflict in it cost a restart of the task.
     */
    public void flushPending() throws SQLException {
        if (txn == null) {
            send(false);
        }
    }

    private void change(WalMessage m) throws SQLException {
        if (txn == null) {
            throw new IllegalStateException("row change outside a transaction from " + task.source().name());
        }
        if (txnSkipped) {
            return;
        }
        if (txnCareful) {
            carefulChange(m);
            return;
        }
        if (txnStarted && m instanceof Insert i && !relations.touchesUnmappable(m)) {
            TableMapping table = mapping(m);
            if (table.copyable()) {
                copy(table, i.newTuple());
                return;
            }
        }
        sendCopy();
        if (entry == null) {
            entry = batch.open(txn, txnStarted);
        }
        if (relations.touchesUnmappable(m)) {
            // Fails the batch at this transaction, which is then replayed carefully, where the change meets on-error.
            endInsertRun();
            batch.add(entry, m, SqlRenderer.UNRESOLVABLE);
        } else if (m instanceof Insert i) {
            TableMapping table = mapping(m);
            if (insertRunTable != table || insertRun.size() * (long) table.columns().length >= 30_000) {
                endInsertRun();
            }
            insertRunTable = table;
            insertRun.add(i.newTuple());
            batch.keep(entry, m);
            if (insertRun.size() == INSERT_RUN_ROWS) {
                endInsertRun();
            }
        } else {
            endInsertRun();
            batch.add(entry, m, m instanceof Truncate t ? truncateSql(t) : rows.strict(mapping(m), m));
        }
        // Mid-transaction only a transaction too big for a batch is cut; others wait for their commit.
        if (batch.isFull() && (batch.entries().size() == 1 || batch.isOverfull())) {
            send(false);
        }
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
        batch.statement(entry, rows.strictInserts(insertRunTable, insertRun));
        insertRun.clear();
        insertRunTable = null;
    }

    private void commit(Commit c) throws SQLException {
        if (txnCareful && txnStarted) {
            Sql.exec(conn, commitSql(c));
            committed(c, carefulRows);
            carefulTxns.remove(txn.finalLsn());
        } else if (txn != null && !txnSkipped && (entry != null || txnStarted)) {
            sendCopy();
            if (entry == null) {
                entry = batch.open(txn, true);
            }
            endInsertRun();
            batch.commit(entry, c, commitSql(c));
        }
        txn = null;
        entry = null;
        txnStarted = false;
        txnCareful = false;
        // The last chunk of a big transaction goes alone: its failure must not be mistaken for a later one's.
        if (batch.isFull() || batch.isContinuation()) {
            send(true);
        }
    }

    /** A change of a transaction applied carefully: checked statement by statement, conflicts resolved. */
    private void carefulChange(WalMessage m) throws SQLException {
        if (!txnStarted) {
            send(false); // what is batched comes first
            Sql.exec(conn, BEGIN_CAREFUL);
            txnStarted = true;
        }
        carefulStatement(txn, m);
    }

    private void carefulStatement(RemoteTxn t, WalMessage m) throws SQLException {
        carefulRows++;
        guard.apply(t, m, () -> {
            if (m instanceof Insert i) {
                rows.insert(t, mapping(m), i.newTuple());
            } else if (m instanceof Update u) {
                rows.update(t, mapping(m), u);
            } else if (m instanceof Delete d) {
                rows.delete(t, mapping(m), d);
            } else if (m instanceof Truncate tr) {
                Sql.exec(conn, truncateSql(tr));
            }
        });
    }

    /** The statements that end an applied transaction: its progress, its origin position and time, COMMIT. */
    private static String commitSql(Commit c) {
        return "EXECUTE " + COMMIT_STATEMENT + "(" + Ident.literal(c.endLsn().toString()) + ", "
                + Ident.literal(c.commitTime().toString()) + ");\nCOMMIT";
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
        String sql = batch.sql();
        batch.clear();
        boolean open = entry != null;  // the transaction being received goes on in the next batch
        entry = null;
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
            txnStarted = true;
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
        entry = null;
        recover(all, false, done.failure());
    }

    /** Every statement of a batch ran: its transactions are committed, a big one's chunk is in. */
    private void ran(List<StrictBatch.Entry> sent) {
        for (StrictBatch.Entry e : sent) {
            if (e.commit != null) {
                committed(e.commit, openRows + e.messages.size());
                openRows = 0;
            } else {
                openRows += e.messages.size();  // a big transaction: its rows count when it commits
            }
        }
    }

    private void committed(Commit c, int rows) {
        appliedLsn = c.endLsn();
        listener.committed(c.commitTime(), conflicts.conflicts(), rows);
    }

    /**
     * A strict batch failed: every transaction before the failed one committed, the failed one
     * rolled back, the rest never ran. The failed one is replayed carefully, the rest goes through
     * the batch again. A failed chunk of a transaction begun in an earlier batch cannot be replayed
     * here (the earlier chunks were not kept): that transaction is marked to be applied carefully
     * and the task restarts, so the source sends it again.
     */
    private void recover(List<StrictBatch.Entry> sent, boolean continuation, SQLException cause) throws SQLException {
        if (continuation) {
            // The earlier chunks of this transaction are rolled back with it and were not kept.
            RemoteTxn t = sent.get(0).txn;
            carefulTxns.add(t.finalLsn());
            throw new ReplayNeededException("the transaction committed at " + t.finalLsn() + " on " + t.sourceNode()
                    + " met a conflict or error (" + SqlRenderer.describeStrictFailure(cause)
                    + "); it will be received again and applied statement by statement");
        }
        Sql.exec(conn, "ROLLBACK");
        Lsn done = Sql.queryString(conn, "SELECT last_commit_lsn FROM pgmesh.task_progress WHERE source_node = ?",
                task.source().name()).map(Lsn::parse).orElse(Lsn.ZERO);
        int i = 0;
        while (i < sent.size() && sent.get(i).commit != null && sent.get(i).commit.endLsn().compareTo(done) <= 0) {
            committed(sent.get(i).commit, sent.get(i).messages.size());
            i++;
        }
        if (i == sent.size()) {
            throw cause; // nothing failed that a replay could mend
        }
        log.debug("task {}: transaction at {} met a conflict or error; replaying it statement by statement", task,
                sent.get(i).txn.finalLsn());
        replay(sent.get(i));
        carefulRun = CAREFUL_RUN;
        RemoteTxn receiving = txn;
        boolean skipping = txnSkipped;
        boolean receivingCareful = txnCareful;
        for (StrictBatch.Entry e : sent.subList(i + 1, sent.size())) {
            txn = e.txn;
            txnSkipped = false;
            txnStarted = false;
            txnCareful = true;
            entry = null;
            carefulRows = 0;
            for (WalMessage m : e.messages) {
                change(m);
            }
            if (e.commit != null) {
                commit(e.commit);
            }
        }
        if (txn == null) {
            txn = receiving;       // the transaction being received had not reached the batch yet
            txnSkipped = skipping;
            txnCareful = receivingCareful;
        }
    }

    /** Applies one transaction statement by statement, resolving conflicts, then its COMMIT if it has one. */
    private void replay(StrictBatch.Entry e) throws SQLException {
        Sql.exec(conn, BEGIN_CAREFUL);
        for (WalMessage m : e.messages) {
            carefulStatement(e.txn, m);
        }
        if (e.commit != null) {
            Sql.exec(conn, commitSql(e.commit));
            committed(e.commit, e.messages.size());
            carefulRows = 0;
        } else {
            txnStarted = true; // the transaction being received is open on the server and goes on
        }
    }

    /**
     * Asks the server which applied LSN is on disk (flushing it if needed); only this LSN may be
     * confirmed to the source.
     */
    public Lsn refreshDurable() throws SQLException {
        collect();
        if (appliedLsn.equals(durableLsn)) {
            return durableLsn;
        }
        Lsn flushed = OriginSession.flushedProgress(conn);
        durableLsn = Lsn.max(durableLsn, Lsn.of(Math.min(flushed.value(), appliedLsn.value())));
        return durableLsn;
    }

    private void relation(Relation r) throws SQLException {
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
        txn = null;
        entry = null;
        txnStarted = false;
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
