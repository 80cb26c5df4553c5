package io.pgmesh.apply;

import io.pgmesh.conflict.ConflictType;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

/**
 * Turns row changes into statements on the {@link Pipeline}. The fast path is one statement that
 * changes a row only when no conflict is possible (key free for INSERT, row last written by this
 * task's origin for UPDATE and DELETE); a statement that touches no row is handed, with everything
 * needed to judge it, to the {@link ConflictHandler} once its batch has run.
 */
final class RowWriter {
    private final PreparedShapes shapes;
    private final Pipeline pipeline;
    private final ConflictHandler conflicts;
    private final String guard;

    /** @param guard the same-origin condition, or null when the server cannot tell a row's origin */
    RowWriter(PreparedShapes shapes, Pipeline pipeline, ConflictHandler conflicts, String guard) {
        this.shapes = shapes;
        this.pipeline = pipeline;
        this.conflicts = conflicts;
        this.guard = guard;
    }

    void insert(RemoteTxn txn, TableMapping m, TupleData row) throws SQLException {
        int[] cols = writableColumns(m, row);
        String name = shapes.name(m.relationId() + ":I:" + Shapes.mask(cols), () -> SqlRenderer.insert(m.table(),
                m.names(cols), m.upsertable() ? m.names(m.key()) : List.of()));
        Pipeline.NoRowCheck check = m.upsertable() ? () -> conflicts.insertExists(txn, m, row, cols) : null;
        add(new ExecuteCall(name).values(row, cols).sql(), check);
    }

    void update(RemoteTxn txn, TableMapping m, Update u) throws SQLException {
        TupleData newTuple = u.newTuple();
        int[] set = updatableColumns(m, newTuple);
        if (m.fullIdentity()) {
            int[] match = presentColumns(u.oldTuple());
            String name = shapes.name(m.relationId() + ":UF:" + Shapes.mask(set) + "/" + Shapes.mask(match),
                    () -> SqlRenderer.updateOneMatching(m.table(), m.names(set), m.names(match)));
            add(new ExecuteCall(name).values(newTuple, set).values(u.oldTuple(), match).sql(),
                    () -> conflicts.fullRowMissing(ConflictType.UPDATE_MISSING, txn, m, u.oldTuple(), newTuple));
            return;
        }
        TupleData keyTuple = u.oldTuple() != null ? u.oldTuple() : newTuple;
        String name = shapes.name(m.relationId() + ":U:" + Shapes.mask(set),
                () -> SqlRenderer.update(m.table(), m.names(set), m.names(m.key()), guard));
        add(new ExecuteCall(name).values(newTuple, set).values(keyTuple, m.key()).sql(),
                () -> conflicts.updateNotApplied(txn, m, keyTuple, newTuple, set));
    }

    void delete(RemoteTxn txn, TableMapping m, Delete d) throws SQLException {
        if (m.fullIdentity()) {
            int[] match = presentColumns(d.oldTuple());
            String name = shapes.name(m.relationId() + ":DF:" + Shapes.mask(match),
                    () -> SqlRenderer.deleteOneMatching(m.table(), m.names(match)));
            add(new ExecuteCall(name).values(d.oldTuple(), match).sql(),
                    () -> conflicts.fullRowMissing(ConflictType.DELETE_MISSING, txn, m, d.oldTuple(), null));
            return;
        }
        String name = shapes.name(m.relationId() + ":D", () -> SqlRenderer.delete(m.table(), m.names(m.key()), guard));
        add(new ExecuteCall(name).values(d.oldTuple(), m.key()).sql(), () -> conflicts.deleteNotApplied(txn, m, d.oldTuple()));
    }

    /**
     * The same change as one statement that fails unless it changes exactly one row: for a batch
     * of whole transactions whose conflicts show up as an aborted transaction, not as counts.
     */
    String strict(TableMapping m, WalMessage change) throws SQLException {
        if (change instanceof Insert i) {
            TupleData row = i.newTuple();
            int[] cols = writableColumns(m, row);
            if (!m.upsertable()) {
                String name = shapes.name(m.relationId() + ":I:" + Shapes.mask(cols),
                        () -> SqlRenderer.insert(m.table(), m.names(cols), List.of()));
                return new ExecuteCall(name).values(row, cols).sql();
            }
            String name = shapes.name(m.relationId() + ":SI:" + Shapes.mask(cols), () -> SqlRenderer.expectOneRow(
                    SqlRenderer.insert(m.table(), m.names(cols), m.names(m.key()))));
            return new ExecuteCall(name).values(row, cols).sql();
        }
        if (change instanceof Update u) {
            TupleData newTuple = u.newTuple();
            int[] set = updatableColumns(m, newTuple);
            if (m.fullIdentity()) {
                int[] match = presentColumns(u.oldTuple());
                String name = shapes.name(m.relationId() + ":SUF:" + Shapes.mask(set) + "/" + Shapes.mask(match),
                        () -> SqlRenderer.expectOneRow(SqlRenderer.updateOneMatching(m.table(), m.names(set), m.names(match))));
                return new ExecuteCall(name).values(newTuple, set).values(u.oldTuple(), match).sql();
            }
            TupleData keyTuple = u.oldTuple() != null ? u.oldTuple() : newTuple;
            String name = shapes.name(m.relationId() + ":SU:" + Shapes.mask(set), () -> SqlRenderer.expectOneRow(
                    SqlRenderer.update(m.table(), m.names(set), m.names(m.key()), guard)));
            return new ExecuteCall(name).values(newTuple, set).values(keyTuple, m.key()).sql();
        }
        Delete d = (Delete) change;
        if (m.fullIdentity()) {
            int[] match = presentColumns(d.oldTuple());
            String name = shapes.name(m.relationId() + ":SDF:" + Shapes.mask(match),
                    () -> SqlRenderer.expectOneRow(SqlRenderer.deleteOneMatching(m.table(), m.names(match))));
            return new ExecuteCall(name).values(d.oldTuple(), match).sql();
        }
        String name = shapes.name(m.relationId() + ":SD",
                () -> SqlRenderer.expectOneRow(SqlRenderer.delete(m.table(), m.names(m.key()), guard)));
        return new ExecuteCall(name).values(d.oldTuple(), m.key()).sql();
    }

    /** Several INSERTs into one table as one strict statement (all rows must go in). */
    String strictInserts(TableMapping m, List<TupleData> rows) throws SQLException {
        int[] cols = writableColumns(m, rows.get(0));
        int n = rows.size();
        String name = shapes.name(m.relationId() + ":SIM" + n + ":" + Shapes.mask(cols), () -> {
            String insert = SqlRenderer.insertRows(m.table(), m.names(cols), n, m.upsertable() ? m.names(m.key()) : List.of());
            return m.upsertable() ? SqlRenderer.expectRows(insert, n) : insert;
        });
        ExecuteCall call = new ExecuteCall(name);
        for (TupleData row : rows) {
            call.values(row, cols);
        }
        return call.sql();
    }

    private void add(String sql, Pipeline.NoRowCheck check) throws SQLException {
        if (pipeline.isFull()) {
            pipeline.send();
        }
        pipeline.add(sql, check);
    }

    private static int[] writableColumns(TableMapping m, TupleData t) {
        return columns(m.writable(), t);
    }

    private static int[] updatableColumns(TableMapping m, TupleData t) {
        return columns(m.updatable(), t);
    }

    private static int[] columns(boolean[] allowed, TupleData t) {
        int n = 0;
        int[] idx = new int[t.size()];
        for (int i = 0; i < t.size(); i++) {
            if (allowed[i] && t.kind(i) != TupleData.Kind.UNCHANGED_TOAST) {
                idx[n++] = i;
            }
        }
        return n == idx.length ? idx : Arrays.copyOf(idx, n);
    }

    private static int[] presentColumns(TupleData t) {
        int n = 0;
        int[] idx = new int[t.size()];
        for (int i = 0; i < t.size(); i++) {
            if (t.kind(i) != TupleData.Kind.UNCHANGED_TOAST) {
                idx[n++] = i;
            }
        }
        return n == idx.length ? idx : Arrays.copyOf(idx, n);
    }
}
