package io.pgmesh.apply;

import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictResolver;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.TaskSpec;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one task's source transactions on its target: one target transaction per source
 * transaction, in source commit order, under the task's replication origin and with the source's
 * commit timestamp, so the origin's progress commits atomically with the data it describes.
 *
 * <p>Statements travel in pipelined batches: the COMMIT of one transaction rides to the server
 * with the changes of the next, so a stream of small transactions costs about one round trip
 * each. A transaction is committed only after every statement of it was checked (a statement
 * that touched no row is a conflict, resolved before the COMMIT is queued).
 */
public final class Applier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.apply");

    /** Told about every transaction once its COMMIT has run on the target. */
    @FunctionalInterface
    public interface CommitListener {
        void committed(Instant sourceCommitTime, long conflictsSoFar);
    }

    private final TaskSpec task;
    private final Connection conn;
    private final PreparedShapes shapes;
    private final Pipeline pipeline;
    private final RowWriter rows;
    private final ConflictHandler conflicts;
    private final CommitListener listener;
    private final Map<Integer, TableMapping> relations = new HashMap<>();
    private final Lsn startProgress;

    private RemoteTxn txn;          // the source transaction being received, null between transactions
    private boolean txnSkipped;     // already applied before a restart
    private boolean txnOpen;        // BEGIN has been queued for it
    private Commit pendingCommit;   // queued COMMIT not yet sent to the server
    private Lsn appliedLsn;         // end of the last transaction committed on the target (maybe not yet flushed)
    private Lsn durableLsn;         // end of the last transaction known to be on disk
    private long appliedTxns;

    private Applier(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictResolver resolver, int originId,
                    Lsn progress, CommitListener listener) throws SQLException {
        this.task = task;
        this.conn = conn;
        this.listener = listener;
        this.shapes = new PreparedShapes(conn);
        this.pipeline = new Pipeline(conn);
        this.conflicts = new ConflictHandler(shapes, resolver, new ConflictLog(conn, task.target().name()),
                new OriginNames(conn, task.target().name()), caps.commitTimestampOrigin());
        this.rows = new RowWriter(shapes, pipeline, conflicts,
                caps.commitTimestampOrigin() ? SqlRenderer.sameOriginGuard(originId) : null);
        this.startProgress = progress;
        this.appliedLsn = progress;
        this.durableLsn = progress;
    }

    /**
     * Binds the connection (autocommit, simple query protocol) to the task's origin, creating it
     * if needed, after putting the origin back to the last applied transaction if an aborted one
     * moved it. Fails with SQLSTATE 55006 when another process holds the origin: PostgreSQL itself
     * is the lease between two pgmesh processes.
     */
    public static Applier open(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictResolver resolver,
                               CommitListener listener) throws SQLException {
        conn.setAutoCommit(true);
        int originId = Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", task.originName())
                .map(Integer::parseInt)
                .orElse(-1);
        if (originId < 0) {
            originId = Sql.queryInt(conn, "SELECT pg_replication_origin_create(?)", task.originName());
        }
        Lsn originLsn = Sql.queryString(conn, "SELECT pg_replication_origin_progress(?, false)", task.originName())
                .map(Lsn::parse).orElse(Lsn.ZERO);
        Lsn applied = Sql.queryString(conn, "SELECT last_commit_lsn FROM pgmesh.task_progress WHERE source_node = ?",
                task.source().name()).map(Lsn::parse).orElse(null);
        if (applied == null) {
            Sql.queryString(conn, "INSERT INTO pgmesh.task_progress (source_node, last_commit_lsn) VALUES (?, ?::pg_lsn)"
                    + " ON CONFLICT DO NOTHING RETURNING 1", task.source().name(), originLsn.toString());
            applied = originLsn;
        } else if (originLsn.compareTo(applied) > 0) {
            log.warn("task {}: origin {} stood at {} but the last applied transaction ends at {} (a transaction"
                    + " that was rolled back moved it); putting it back", task, task.originName(), originLsn, applied);
            Sql.queryString(conn, "SELECT pg_replication_origin_advance(?, ?::pg_lsn)", task.originName(), applied.toString());
        }
        Sql.exec(conn, "SET session_replication_role = replica");
        // Commits need not wait for the disk: only LSNs that the origin reports flushed are confirmed.
        Sql.exec(conn, "SET synchronous_commit = off");
        Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", task.originName());
        return new Applier(task, conn, caps, resolver, originId, applied, listener);
    }

    /** Where this task stands on the target: the position to resume streaming from. */
    public Lsn startPosition() {
        return startProgress;
    }

    public Lsn appliedLsn() {
        return appliedLsn;
    }

    public long appliedTransactions() {
        return appliedTxns;
    }

    public long conflicts() {
        return conflicts.conflicts();
    }

    /** True while a source transaction is being received, or its COMMIT waits to be sent. */
    public boolean inTransaction() {
        return txn != null;
    }

    /** True when a COMMIT is queued: the last applied transaction is not yet on the target. */
    public boolean hasPendingCommit() {
        return pendingCommit != null;
    }

    public void apply(WalMessage m) throws SQLException {
        if (m instanceof Insert i) {
            if (begin()) {
                rows.insert(txn, mapping(i.relationId()), i.newTuple());
            }
        } else if (m instanceof Update u) {
            if (begin()) {
                rows.update(txn, mapping(u.relationId()), u);
            }
        } else if (m instanceof Delete d) {
            if (begin()) {
                rows.delete(txn, mapping(d.relationId()), d);
            }
        } else if (m instanceof Begin b) {
            txn = new RemoteTxn(task.source().name(), b.commitTime(), b.finalLsn());
            // A transaction whose commit lies before the resume position was applied before a restart.
            txnSkipped = b.finalLsn().compareTo(startProgress) < 0;
            txnOpen = false;
        } else if (m instanceof Commit c) {
            commit(c);
        } else if (m instanceof Relation r) {
            relation(r);
        } else if (m instanceof Truncate t) {
            if (begin()) {
                truncate(t);
            }
        }
        // Origin, TypeInfo and LogicalMessage carry nothing to apply.
    }

    /** Sends what waits in the pipeline, the queued COMMIT included. Called when the source is quiet. */
    public void flushPending() throws SQLException {
        send();
    }

    private boolean begin() throws SQLException {
        if (txn == null) {
            throw new IllegalStateException("row change outside a transaction from " + task.source().name());
        }
        if (txnSkipped) {
            return false;
        }
        if (!txnOpen) {
            pipeline.add("BEGIN");
            txnOpen = true;
        }
        return true;
    }

    private void commit(Commit c) throws SQLException {
        if (txnOpen) {
            // Every statement of the transaction runs and is checked before its COMMIT is queued.
            send();
            pipeline.add("CALL pgmesh.commit_origin(" + Ident.literal(task.source().name()) + ", "
                    + Ident.literal(c.endLsn().toString()) + ", " + Ident.literal(c.commitTime().toString()) + ")");
            pipeline.add("COMMIT");
            pendingCommit = c;
        }
        txn = null;
        txnOpen = false;
    }

    private void send() throws SQLException {
        Commit committed = pendingCommit;
        pipeline.send();
        if (committed != null) {
            pendingCommit = null;
            appliedLsn = committed.endLsn();
            appliedTxns++;
            listener.committed(committed.commitTime(), conflicts.conflicts());
        }
    }

    /**
     * Asks the server which applied LSN is on disk (flushing it if needed); only this LSN may be
     * confirmed to the source.
     */
    public Lsn refreshDurable() throws SQLException {
        if (appliedLsn.equals(durableLsn)) {
            return durableLsn;
        }
        Lsn flushed = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(true)")
                .map(Lsn::parse).orElse(Lsn.ZERO);
        durableLsn = Lsn.max(durableLsn, Lsn.of(Math.min(flushed.value(), appliedLsn.value())));
        return durableLsn;
    }

    private void relation(Relation r) throws SQLException {
        send(); // queued statements may use the prepared statements about to be replaced
        shapes.invalidate(r.relationId());
        relations.remove(r.relationId());
        TableName table = new TableName(r.namespace(), r.name());
        relations.put(r.relationId(), TableMapping.of(r, TargetCatalog.describe(conn, table)));
    }

    private TableMapping mapping(int relationId) {
        TableMapping m = relations.get(relationId);
        if (m == null) {
            throw new ApplyException("change for relation " + relationId + " arrived before its description");
        }
        return m;
    }

    private void truncate(Truncate t) throws SQLException {
        List<TableName> tables = new ArrayList<>();
        for (int id : t.relationIds()) {
            tables.add(mapping(id).table());
        }
        rows.truncate(tables, t.restartIdentity(), t.cascade());
    }

    /** Abandons whatever was not committed: the source sends it again after a restart. */
    public void abort() {
        try {
            pipeline.discard();
            Sql.exec(conn, "ROLLBACK");
        } catch (SQLException ignored) {
            // the connection is broken; the server rolls back by itself
        }
        pendingCommit = null;
        txn = null;
        txnOpen = false;
    }

    @Override
    public void close() {
        abort();
        try {
            conn.close();
        } catch (SQLException ignored) {
            // nothing left to release
        }
    }
}
