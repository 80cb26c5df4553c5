package io.pgmesh.apply;

import io.pgmesh.conflict.Conflict;
import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictResolver;
import io.pgmesh.conflict.ConflictType;
import io.pgmesh.conflict.Resolution;
import io.pgmesh.wal.TupleData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The slow path of the applier, taken only when the fast path touched no row: it locks and reads
 * the local row, names the conflict, asks the resolver, applies the decision and logs it.
 */
final class ConflictHandler {

    /** The local row a remote change collided with. */
    private record LocalRow(String imageJson, Instant commitTime, String node) {
    }

    private final PreparedShapes shapes;
    private final ConflictResolver resolver;
    private final ConflictLog log;
    private final OriginNames origins;
    private final boolean knowsOrigins;
    private long conflicts;

    ConflictHandler(PreparedShapes shapes, ConflictResolver resolver, ConflictLog log, OriginNames origins,
                    boolean knowsOrigins) {
        this.shapes = shapes;
        this.resolver = resolver;
        this.log = log;
        this.origins = origins;
        this.knowsOrigins = knowsOrigins;
    }

    long conflicts() {
        return conflicts;
    }

    /** A remote INSERT found its key taken. */
    void insertExists(RemoteTxn txn, TableMapping m, TupleData row, int[] writeIdx) throws SQLException {
        Optional<LocalRow> local = lockLocalRow(m, row, m.key());
        if (local.isEmpty()) {
            // The colliding row was deleted meanwhile by a local transaction; the insert now fits.
            String name = shapes.name(m.relationId() + ":I-plain:" + Shapes.mask(writeIdx),
                    () -> SqlRenderer.insert(m.table(), m.names(writeIdx), List.of()));
            execute(new ExecuteCall(name).values(row, writeIdx).sql());
            return;
        }
        Resolution r = decide(ConflictType.INSERT_EXISTS, txn, m, local.get(), row, row, writeIdx);
        if (r == Resolution.APPLY_REMOTE) {
            overwrite(m, row, writeIdx, row);
        }
    }

    /** A remote UPDATE touched no row: either the row is gone or another origin wrote it last. */
    void updateNotApplied(RemoteTxn txn, TableMapping m, TupleData keyTuple, TupleData newTuple, int[] setIdx)
            throws SQLException {
        Optional<LocalRow> local = lockLocalRow(m, keyTuple, m.key());
        if (local.isEmpty()) {
            record(ConflictType.UPDATE_MISSING, txn, m, null, keyTuple, newTuple, setIdx);
            return;
        }
        Resolution r = decide(ConflictType.UPDATE_DIFFERS, txn, m, local.get(), keyTuple, newTuple, setIdx);
        if (r == Resolution.APPLY_REMOTE) {
            overwrite(m, newTuple, setIdx, keyTuple);
        }
    }

    /** A remote UPDATE of a REPLICA IDENTITY FULL table found no equal row. */
    void fullRowMissing(ConflictType type, RemoteTxn txn, TableMapping m, TupleData oldTuple, TupleData newTuple)
            throws SQLException {
        int[] all = Shapes.all(oldTuple.size());
        record(type, txn, m, null, oldTuple, newTuple == null ? oldTuple : newTuple, all);
    }

    /** A remote DELETE touched no row. */
    void deleteNotApplied(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        Optional<LocalRow> local = lockLocalRow(m, keyTuple, m.key());
        if (local.isEmpty()) {
            record(ConflictType.DELETE_MISSING, txn, m, null, keyTuple, keyTuple, m.key());
            return;
        }
        Resolution r = decide(ConflictType.DELETE_DIFFERS, txn, m, local.get(), keyTuple, keyTuple, m.key());
        if (r == Resolution.APPLY_REMOTE) {
            String name = shapes.name(m.relationId() + ":D-force", () -> SqlRenderer.delete(m.table(), m.names(m.key()), null));
            execute(new ExecuteCall(name).values(keyTuple, m.key()).sql());
        }
    }

    private Resolution decide(ConflictType type, RemoteTxn txn, TableMapping m, LocalRow local,
                              TupleData keyTuple, TupleData remote, int[] remoteIdx) throws SQLException {
        Conflict c = new Conflict(type, m.table(), txn.sourceNode(), txn.commitTime(), local.node(), local.commitTime());
        Resolution r = resolver.resolve(c);
        log.record(new ConflictLog.Entry(c, r, RowImage.of(m, keyTuple, m.key()), local.imageJson(),
                RowImage.of(m, remote, remoteIdx), txn.finalLsn()));
        conflicts++;
        return r;
    }

    private void record(ConflictType type, RemoteTxn txn, TableMapping m, LocalRow local, TupleData keyTuple,
                        TupleData remote, int[] remoteIdx) throws SQLException {
        Conflict c = new Conflict(type, m.table(), txn.sourceNode(), txn.commitTime(), null, null);
        Resolution r = resolver.resolve(c);
        log.record(new ConflictLog.Entry(c, r, RowImage.of(m, keyTuple, m.key()),
                local == null ? null : local.imageJson(), RowImage.of(m, remote, remoteIdx), txn.finalLsn()));
        conflicts++;
    }

    private void overwrite(TableMapping m, TupleData values, int[] columns, TupleData keyTuple) throws SQLException {
        int[] setIdx = java.util.Arrays.stream(columns).filter(i -> m.updatable()[i]).toArray();
        String name = shapes.name(m.relationId() + ":U-force:" + Shapes.mask(setIdx),
                () -> SqlRenderer.update(m.table(), m.names(setIdx), m.names(m.key()), null));
        execute(new ExecuteCall(name).values(values, setIdx).values(keyTuple, m.key()).sql());
    }

    private void execute(String sql) throws SQLException {
        try (Statement st = shapes.connection().createStatement()) {
            st.execute(sql);
        }
    }

    private Optional<LocalRow> lockLocalRow(TableMapping m, TupleData keyTuple, int[] key) throws SQLException {
        String name = shapes.name(m.relationId() + ":S-local",
                () -> SqlRenderer.selectLocalRow(m.table(), m.names(key), knowsOrigins));
        try (Statement st = shapes.connection().createStatement();
             ResultSet rs = st.executeQuery(new ExecuteCall(name).values(keyTuple, key).sql())) {
            if (!rs.next()) {
                return Optional.empty();
            }
            Timestamp ts = rs.getTimestamp(2);
            return Optional.of(new LocalRow(rs.getString(1), ts == null ? null : ts.toInstant(),
                    ts == null ? null : origins.nodeOf(rs.getLong(3))));
        }
    }
}
