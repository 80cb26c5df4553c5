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
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies one task's source transactions on its target: one target transaction per source
 * transaction, in source commit order, under the task's replication origin and with the source's
 * commit timestamp, so the origin's progress commits atomically with the data it describes.
 * Knows nothing of the wire format beyond the decoded messages.
 */
public final class Applier implements AutoCloseable {
    private static final long PROGRESS_ROW_INTERVAL_NANOS = 1_000_000_000L;

    private final TaskSpec task;
    private final Connection conn;
    private final StatementCache statements;
    private final RowWriter rows;
    private final ConflictHandler conflicts;
    private final Map<Integer, TableMapping> relations = new HashMap<>();
    private final Lsn startProgress;

    private RemoteTxn txn;          // the source transaction being received, null between transactions
    private boolean txnSkipped;     // already applied before a restart
    private boolean txnOpen;        // a target transaction has been started for it
    private Lsn appliedLsn;         // end of the last committed transaction (maybe not yet flushed)
    private Lsn durableLsn;         // end of the last transaction known to be on disk
    private long appliedTxns;
    private long lastProgressRowNanos;
    private PreparedStatement progressRow;

    private Applier(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictResolver resolver, int originId,
                    Lsn progress) {
        this.task = task;
        this.conn = conn;
        this.statements = new StatementCache(conn);
        this.conflicts = new ConflictHandler(conn, statements, resolver, new ConflictLog(conn, task.target().name()),
                new OriginNames(conn, task.target().name()), caps.commitTimestampOrigin());
        this.rows = new RowWriter(statements, conflicts,
                caps.commitTimestampOrigin() ? SqlRenderer.sameOriginGuard(originId) : null);
        this.startProgress = progress;
        this.appliedLsn = progress;
        this.durableLsn = progress;
    }

    /**
     * Binds the connection to the task's origin (creating it if needed). Fails with SQLSTATE 55006
     * when another process holds the origin: PostgreSQL itself is the lease between two pgmesh runs.
     */
    public static Applier open(TaskSpec task, Connection conn, ServerCapabilities caps, ConflictResolver resolver)
            throws SQLException {
        conn.setAutoCommit(true);
        int originId = Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", task.originName())
                .map(Integer::parseInt)
                .orElse(-1);
        if (originId < 0) {
            originId = Sql.queryInt(conn, "SELECT pg_replication_origin_create(?)", task.originName());
        }
        Sql.exec(conn, "SET session_replication_role = replica");
        // Commits need not wait for the disk: only LSNs that the origin reports flushed are confirmed.
        Sql.exec(conn, "SET synchronous_commit = off");
        Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", task.originName());
        Lsn progress = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(true)")
                .map(Lsn::parse).orElse(Lsn.ZERO);
        conn.setAutoCommit(false);
        return new Applier(task, conn, caps, resolver, originId, progress);
    }

    /** Where the target's origin says this task stands: the position to resume streaming from. */
    public Lsn startPosition() {
        return startProgress;
    }

    public Lsn appliedLsn() {
        return appliedLsn;
    }

    public Lsn durableLsn() {
        return durableLsn;
    }

    public long appliedTransactions() {
        return appliedTxns;
    }

    public long conflicts() {
        return conflicts.conflicts();
    }

    /** True while a source transaction is being received. */
    public boolean inTransaction() {
        return txn != null;
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
            // A transaction whose commit lies before the origin's position was applied before a restart.
            txnSkipped = b.finalLsn().compareTo(appliedLsn) < 0;
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

    private boolean begin() {
        if (txn == null) {
            throw new IllegalStateException("row change outside a transaction from " + task.source().name());
        }
        if (txnSkipped) {
            return false;
        }
        txnOpen = true;
        return true;
    }

    private void commit(Commit c) throws SQLException {
        if (txnOpen) {
            rows.flush();
            maybeWriteProgressRow(c);
            // The origin's position and COMMIT go to the server in one write, with nothing that can
            // fail in between: PostgreSQL advances the origin also when a transaction that ran
            // pg_replication_origin_xact_setup aborts (this process killed before its COMMIT was
            // sent, a statement failing after it), and a restart would then skip a transaction whose
            // rows were rolled back.
            try (Statement st = conn.createStatement()) {
                st.execute("SELECT pg_replication_origin_xact_setup(" + Ident.literal(c.endLsn().toString())
                        + "::pg_lsn, " + Ident.literal(c.commitTime().toString()) + "::timestamptz); COMMIT");
            }
            appliedLsn = c.endLsn();
            appliedTxns++;
        }
        txn = null;
        txnOpen = false;
    }

    /** Once a second, the last applied source commit is recorded for `pgmesh status`, inside the applied transaction. */
    private void maybeWriteProgressRow(Commit c) throws SQLException {
        long now = System.nanoTime();
        if (now - lastProgressRowNanos < PROGRESS_ROW_INTERVAL_NANOS) {
            return;
        }
        lastProgressRowNanos = now;
        if (progressRow == null) {
            progressRow = conn.prepareStatement("""
                    INSERT INTO pgmesh.task_progress (source_node, last_commit_lsn, last_commit_time, applied_at)
                    VALUES (?, ?::pg_lsn, ?, clock_timestamp())
                    ON CONFLICT (source_node) DO UPDATE SET last_commit_lsn = excluded.last_commit_lsn,
                        last_commit_time = excluded.last_commit_time, applied_at = excluded.applied_at
                    """);
        }
        progressRow.setString(1, task.source().name());
        progressRow.setString(2, c.endLsn().toString());
        progressRow.setObject(3, c.commitTime().atOffset(ZoneOffset.UTC));
        progressRow.executeUpdate();
    }

    /**
     * Asks the server which applied LSN is on disk (flushing it if needed). Called between
     * transactions; only this LSN may be confirmed to the source.
     */
    public Lsn refreshDurable() throws SQLException {
        if (txn != null || appliedLsn.equals(durableLsn)) {
            return durableLsn;
        }
        Lsn flushed = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(true)")
                .map(Lsn::parse).orElse(Lsn.ZERO);
        conn.commit();
        durableLsn = Lsn.max(durableLsn, flushed);
        return durableLsn;
    }

    private void relation(Relation r) throws SQLException {
        statements.invalidate(r.relationId());
        relations.remove(r.relationId());
        TableName table = new TableName(r.namespace(), r.name());
        relations.put(r.relationId(), TableMapping.of(r, TargetCatalog.describe(conn, table)));
        if (txn == null) {
            conn.commit(); // end the catalog read's transaction before the next source transaction
        }
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

    /** Abandons the open target transaction: it was never committed, so the source will send it again. */
    public void abort() {
        try {
            rows.discard();
            conn.rollback();
        } catch (SQLException ignored) {
            // the connection is broken; the server rolls back by itself
        }
        txn = null;
        txnOpen = false;
    }

    @Override
    public void close() {
        abort();
        statements.close();
        try {
            conn.close();
        } catch (SQLException ignored) {
            // nothing left to release
        }
    }
}
