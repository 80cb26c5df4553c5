package io.pgmesh.apply;

import io.pgmesh.conflict.ConflictType;
import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes row changes to the target. The fast path is one statement that succeeds only when no
 * conflict is possible (key free for INSERT, row last written by this task's origin for UPDATE and
 * DELETE); a statement that touches no row goes to the {@link ConflictHandler}. Runs of INSERTs
 * into one table travel as one JDBC batch: one round trip for up to {@value #MAX_BATCH} rows.
 */
final class RowWriter {
    static final int MAX_BATCH = 1000;

    private final StatementCache statements;
    private final ConflictHandler conflicts;
    private final String guard;

    private PreparedStatement batchStatement;
    private TableMapping batchMapping;
    private int[] batchColumns;
    private final List<TupleData> batchRows = new ArrayList<>();
    private RemoteTxn batchTxn;

    /** @param guard the same-origin condition, or null when the server cannot tell a row's origin */
    RowWriter(StatementCache statements, ConflictHandler conflicts, String guard) {
        this.statements = statements;
        this.conflicts = conflicts;
        this.guard = guard;
    }

    void insert(RemoteTxn txn, TableMapping m, TupleData row) throws SQLException {
        int[] cols = writableColumns(m, row);
        String shape = m.relationId() + ":I:" + Shapes.mask(cols);
        PreparedStatement ps = statements.get(shape, () -> SqlRenderer.insert(m.table(), m.names(cols),
                m.upsertable() ? m.names(m.key()) : List.of()));
        // A new transaction starts a new batch even for the same statement: a conflict found when
        // the batch is sent must be judged with the commit time of the transaction the row came from.
        if (ps != batchStatement || txn != batchTxn) {
            flush();
            batchStatement = ps;
            batchMapping = m;
            batchColumns = cols;
            batchTxn = txn;
        }
        Binder.bind(ps, 1, row, cols);
        ps.addBatch();
        batchRows.add(row);
        if (batchRows.size() >= MAX_BATCH) {
            flush();
        }
    }

    void update(RemoteTxn txn, TableMapping m, Update u) throws SQLException {
        flush();
        TupleData newTuple = u.newTuple();
        int[] set = writableColumns(m, newTuple);
        if (m.fullIdentity()) {
            int[] match = presentColumns(u.oldTuple());
            PreparedStatement ps = statements.get(m.relationId() + ":UF:" + Shapes.mask(set) + "/" + Shapes.mask(match),
                    () -> SqlRenderer.updateOneMatching(m.table(), m.names(set), m.names(match)));
            Binder.bind(ps, Binder.bind(ps, 1, newTuple, set), u.oldTuple(), match);
            if (ps.executeUpdate() == 0) {
                conflicts.fullRowMissing(ConflictType.UPDATE_MISSING, txn, m, u.oldTuple(), newTuple);
            }
            return;
        }
        TupleData keyTuple = u.oldTuple() != null ? u.oldTuple() : newTuple;
        PreparedStatement ps = statements.get(m.relationId() + ":U:" + Shapes.mask(set),
                () -> SqlRenderer.update(m.table(), m.names(set), m.names(m.key()), guard));
        Binder.bind(ps, Binder.bind(ps, 1, newTuple, set), keyTuple, m.key());
        if (ps.executeUpdate() == 0) {
            conflicts.updateNotApplied(txn, m, keyTuple, newTuple, set);
        }
    }

    void delete(RemoteTxn txn, TableMapping m, Delete d) throws SQLException {
        flush();
        if (m.fullIdentity()) {
            int[] match = presentColumns(d.oldTuple());
            PreparedStatement ps = statements.get(m.relationId() + ":DF:" + Shapes.mask(match),
                    () -> SqlRenderer.deleteOneMatching(m.table(), m.names(match)));
            Binder.bind(ps, 1, d.oldTuple(), match);
            if (ps.executeUpdate() == 0) {
                conflicts.fullRowMissing(ConflictType.DELETE_MISSING, txn, m, d.oldTuple(), null);
            }
            return;
        }
        PreparedStatement ps = statements.get(m.relationId() + ":D",
                () -> SqlRenderer.delete(m.table(), m.names(m.key()), guard));
        Binder.bind(ps, 1, d.oldTuple(), m.key());
        if (ps.executeUpdate() == 0) {
            conflicts.deleteNotApplied(txn, m, d.oldTuple());
        }
    }

    void truncate(List<TableName> tables, boolean restartIdentity, boolean cascade) throws SQLException {
        flush();
        try (var st = statements.connection().createStatement()) {
            st.execute(SqlRenderer.truncate(tables, restartIdentity, cascade));
        }
    }

    /** Sends the pending INSERT batch; rows it did not insert met an existing key. */
    void flush() throws SQLException {
        if (batchRows.isEmpty()) {
            return;
        }
        int[] counts = batchStatement.executeBatch();
        List<TupleData> rows = List.copyOf(batchRows);
        batchRows.clear();
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                conflicts.insertExists(batchTxn, batchMapping, rows.get(i), batchColumns);
            }
        }
    }

    /** Forgets a batch that will not be sent because its transaction is being rolled back. */
    void discard() throws SQLException {
        if (batchStatement != null && !batchRows.isEmpty()) {
            batchStatement.clearBatch();
        }
        batchRows.clear();
        batchStatement = null;
    }

    private static int[] writableColumns(TableMapping m, TupleData t) {
        int n = 0;
        int[] idx = new int[t.size()];
        for (int i = 0; i < t.size(); i++) {
            if (m.writable()[i] && t.kind(i) != TupleData.Kind.UNCHANGED_TOAST) {
                idx[n++] = i;
            }
        }
        return n == idx.length ? idx : java.util.Arrays.copyOf(idx, n);
    }

    private static int[] presentColumns(TupleData t) {
        int n = 0;
        int[] idx = new int[t.size()];
        for (int i = 0; i < t.size(); i++) {
            if (t.kind(i) != TupleData.Kind.UNCHANGED_TOAST) {
                idx[n++] = i;
            }
        }
        return n == idx.length ? idx : java.util.Arrays.copyOf(idx, n);
    }
}
