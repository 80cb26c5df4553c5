package io.pgmesh.apply;

import io.pgmesh.conflict.ConflictType;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;

/**
 * Renders row changes as statements. The fast path is one statement that changes a row only when
 * no conflict is possible (key free and not deleted here by another origin for INSERT, row last
 * written by this task's origin for UPDATE and DELETE). Strict statements ({@link #strict}) travel
 * in batches and fail unless they change exactly one row; careful ones ({@link #insert},
 * {@link #update}, {@link #delete}) run one at a time, and one that touches no row is handed,
 * with everything needed to judge it, to the {@link ConflictHandler}.
 */
final class RowWriter {
    private final PreparedShapes shapes;
    private final ConflictHandler conflicts;
    private final String guard;

    /** @param guard the same-origin condition, or null when the server cannot tell a row's origin */
    RowWriter(PreparedShapes shapes, ConflictHandler conflicts, String guard) {
        this.shapes = shapes;
        this.conflicts = conflicts;
        this.guard = guard;
    }

    /** The same-origin condition on a row's (or a tombstone's) xmin, null when the server cannot tell origins. */
    String guard() {
        return guard;
    }

    void insert(RemoteTxn txn, TableMapping m, TupleData row) throws SQLException {
        int[] cols = m.writableIn(row);
        if (deletedByOther(m, row)) {
            conflicts.insertConflict(txn, m, row, cols);
            return;
        }
        String name = shapes.name(m.relationId() + ":I:" + Shapes.mask(cols), () -> SqlRenderer.insert(m.table(),
                m.names(cols), m.upsertable() ? m.names(m.key()) : List.of()));
        if (run(new ExecuteCall(name).values(row, cols).sql()) == 0 && m.upsertable()) {
            conflicts.insertConflict(txn, m, row, cols);
        }
    }

    void update(RemoteTxn txn, TableMapping m, Update change) throws SQLException {
        Update u = withWhole(m, change);
        TupleData newTuple = u.newTuple();
        int[] set = m.updatableIn(newTuple);
        if (m.fullIdentity()) {
            int[] match = presentColumns(u.oldTuple());
            String name = shapes.name(m.relationId() + ":UF:" + Shapes.mask(set) + "/" + Shapes.mask(match),
                    () -> SqlRenderer.updateOneMatching(m.table(), m.names(set), m.names(match)));
            if (run(new ExecuteCall(name).values(newTuple, set).values(u.oldTuple(), match).sql()) == 0) {
                conflicts.fullRowMissing(ConflictType.UPDATE_MISSING, txn, m, u.oldTuple(), newTuple);
            }
            return;
        }
        if (changesKey(m, u)) {
            rekey(txn, m, u, set);
            return;
        }
        TupleData keyTuple = u.oldTuple() != null ? u.oldTuple() : newTuple;
        String name = shapes.name(m.relationId() + ":U:" + Shapes.mask(set),
                () -> SqlRenderer.update(m.table(), m.names(set), m.names(m.key()), guard));
        if (run(new ExecuteCall(name).values(newTuple, set).values(keyTuple, m.key()).sql()) == 0) {
            conflicts.updateNotApplied(txn, m, keyTuple, newTuple, set);
        }
    }

    /**
     * An UPDATE that changes the key. Where no conflict is possible it moves the row in one
     * statement; otherwise it is, for conflicts, what it is on the source: a delete of the old key
     * and an insert of the new one, each weighed against its own local version (a row or a
     * tombstone) by the table's rule. The source's own trigger wrote a tombstone for the old key,
     * so every node compares the same versions and ends with the same rows, chains of key
     * changes across nodes included.
     */
    private void rekey(RemoteTxn txn, TableMapping m, Update u, int[] set) throws SQLException {
        TupleData newTuple = u.newTuple();
        if (run(rekeyCall(m, u, set, false)) == 1) {
            return;
        }
        conflicts.weighingOldKey(true);
        try {
            deleteKey(txn, m, u.oldTuple());
        } finally {
            conflicts.weighingOldKey(false);
        }
        Optional<TupleData> row = conflicts.complete(m, newTuple);
        if (row.isPresent()) {
            insert(txn, m, row.get());
        } else {
            conflicts.rekeyedRowGone(txn, m, newTuple);
        }
    }

    /** The statement that moves the row; {@code strict}: one that fails unless it moved exactly one row. */
    private String rekeyCall(TableMapping m, Update u, int[] set, boolean strict) throws SQLException {
        String name = shapes.name(m.relationId() + (strict ? ":SUK:" : ":UK:") + Shapes.mask(set), () -> {
            String move = SqlRenderer.rekey(m.table(), m.names(set), m.names(m.key()), guard, m.tombstones());
            return strict ? SqlRenderer.expectOneRow(move) : move;
        });
        return new ExecuteCall(name).values(u.newTuple(), set).values(u.oldTuple(), m.key())
                .values(u.newTuple(), m.key()).sql();
    }

    /** The update with the values it left out read from the source where the target cannot be sure of them. */
    private Update withWhole(TableMapping m, Update u) throws SQLException {
        TupleData whole = conflicts.whole(m, u.newTuple());
        return whole == u.newTuple() ? u : new Update(u.relationId(), u.oldKind(), u.oldTuple(), whole);
    }

    /** True when an UPDATE of a keyed table moves its row to another key (pgoutput then sends the old key). */
    static boolean changesKey(TableMapping m, Update u) {
        if (m.fullIdentity() || u.oldTuple() == null) {
            return false;
        }
        for (int k : m.key()) {
            TupleData.Kind kind = u.newTuple().kind(k);
            if (kind != u.oldTuple().kind(k) || kind == TupleData.Kind.TEXT
                    && !u.newTuple().text(k).equals(u.oldTuple().text(k))) {
                return true;
            }
        }
        return false;
    }

    void delete(RemoteTxn txn, TableMapping m, Delete d) throws SQLException {
        if (m.fullIdentity()) {
            int[] match = presentColumns(d.oldTuple());
            String name = shapes.name(m.relationId() + ":DF:" + Shapes.mask(match),
                    () -> SqlRenderer.deleteOneMatching(m.table(), m.names(match)));
            if (run(new ExecuteCall(name).values(d.oldTuple(), match).sql()) == 0) {
                conflicts.fullRowMissing(ConflictType.DELETE_MISSING, txn, m, d.oldTuple(), null);
            }
            return;
        }
        deleteKey(txn, m, d.oldTuple());
    }

    private void deleteKey(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        String name = shapes.name(m.relationId() + ":D", () -> SqlRenderer.delete(m.table(), m.names(m.key()), guard));
        if (run(new ExecuteCall(name).values(keyTuple, m.key()).sql()) == 0) {
            conflicts.deleteNotApplied(txn, m, keyTuple);
        }
    }

    /**
     * An UPDATE or DELETE as one statement that fails unless it changes exactly one row (INSERTs
     * go through {@link #strictInserts}): for a batch of whole transactions whose conflicts show
     * up as an aborted transaction, not as counts.
     */
    String strict(TableMapping m, WalMessage change) throws SQLException {
        if (change instanceof Update update) {
            Update u = withWhole(m, update);
            TupleData newTuple = u.newTuple();
            int[] set = m.updatableIn(newTuple);
            if (m.fullIdentity()) {
                int[] match = presentColumns(u.oldTuple());
                String name = shapes.name(m.relationId() + ":SUF:" + Shapes.mask(set) + "/" + Shapes.mask(match),
                        () -> SqlRenderer.expectOneRow(SqlRenderer.updateOneMatching(m.table(), m.names(set), m.names(match))));
                return new ExecuteCall(name).values(newTuple, set).values(u.oldTuple(), match).sql();
            }
            if (changesKey(m, u)) {
                return rekeyCall(m, u, set, true);
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

    /**
     * INSERTs into one table as one strict statement. A plain INSERT, without ON CONFLICT: a key
     * that exists already fails the statement with a unique violation, which sends the transaction
     * to the careful replay like any failed strict statement, and a speculative insertion costs
     * half as much again per row. Into a table with tombstones it fails too when a key it
     * inserted was deleted here by a change of another origin.
     */
    String strictInserts(TableMapping m, List<TupleData> rows) throws SQLException {
        int[] cols = m.writableIn(rows.get(0));
        int n = rows.size();
        String name = shapes.name(m.relationId() + ":SI" + n + ":" + Shapes.mask(cols), () -> {
            String insert = SqlRenderer.insertRows(m.table(), m.names(cols), n, List.of());
            return m.upsertable() && m.tombstones() != null && guard != null
                    ? SqlRenderer.expectNotDeleted(insert, m.tombstones(), m.names(m.key()), guard)
                    : insert;
        });
        ExecuteCall call = new ExecuteCall(name);
        for (TupleData row : rows) {
            call.values(row, cols);
        }
        return call.sql();
    }

    /**
     * The statement that fails when one of a COPY run's keys (array literals, one per key column)
     * was deleted here by a change of another origin.
     */
    String noneDeletedAmong(TableMapping m, String[] keyArrays) throws SQLException {
        String name = shapes.name(m.relationId() + ":T-among",
                () -> SqlRenderer.expectNoneDeletedAmong(m.tombstones(), m.names(m.key()), guard));
        StringBuilder sql = new StringBuilder("EXECUTE ").append(name).append('(');
        for (int k = 0; k < keyArrays.length; k++) {
            if (k > 0) {
                sql.append(", ");
            }
            ExecuteCall.quote(sql, keyArrays[k]);
        }
        return sql.append(')').toString();
    }

    /** True when the row's key was deleted here by a change of another origin: its INSERT is then a conflict. */
    private boolean deletedByOther(TableMapping m, TupleData row) throws SQLException {
        if (m.tombstones() == null || guard == null) {
            return false;
        }
        String name = shapes.name(m.relationId() + ":T-other",
                () -> SqlRenderer.deletedByOther(m.tombstones(), m.names(m.key()), guard));
        try (Statement st = shapes.connection().createStatement();
             ResultSet rs = st.executeQuery(new ExecuteCall(name).values(row, m.key()).sql())) {
            return rs.next();
        }
    }

    private int run(String sql) throws SQLException {
        try (Statement st = shapes.connection().createStatement()) {
            return st.executeUpdate(sql);
        }
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
