package io.pgmesh.apply;

import io.pgmesh.causal.Lineage;
import io.pgmesh.causal.SeenHistory;
import io.pgmesh.conflict.Conflict;
import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.conflict.ConflictType;
import io.pgmesh.conflict.Resolution;
import io.pgmesh.wal.TupleData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The slow path of the applier, taken only when the fast path touched no row or met a tombstone:
 * it locks and reads the local version (the row, or the tombstone of the delete that removed it),
 * names the conflict, asks the table's resolver, applies the decision and logs it. A decision of
 * {@link Resolution#ERROR} is thrown as an {@link UnresolvableChangeException}.
 *
 * <p>Only concurrent versions are a conflict. A change whose source had seen the local version
 * ({@link RemoteTxn#seen}) was made after it and applies; a local version whose node had seen
 * the change before writing it stays. Either way, whatever the clocks say, and nothing is logged.
 */
final class ConflictHandler {

    /**
     * The local version a remote change collided with: a row (with its image) or a tombstone
     * (image null), and how it stands to the change.
     */
    private record LocalVersion(String imageJson, Instant commitTime, String node, Order order, Lineage.Fork fork) {
    }

    /** How a local version and a remote change are ordered. Only concurrent ones are a conflict. */
    private enum Order {
        /** Neither node had seen the other's version: the table's rule decides. */
        CONCURRENT,
        /** The change's node had seen the local version when it made the change: it applies. */
        REMOTE_LATER,
        /** The local version's node had seen the change before it wrote the local version: it stays. */
        LOCAL_LATER
    }

    private final PreparedShapes shapes;
    private final ConflictPolicy policy;
    private final ConflictLog log;
    private final OriginNames origins;
    private final boolean knowsOrigins;
    private final SourceRows source;
    private final StreamStart streamStart;
    private long conflicts;
    /** The lineage the change being applied came with, null when its table keeps none. */
    private Lineage.Message remoteLineage;
    /** How often the change being weighed met its key moved on under it (bounded: it is weighed again). */
    private int moves;
    /** True while the delete half of a change of key is weighed: its lineage is the old key's. */
    private boolean oldKey;
    /** How often one change is weighed anew when the application keeps changing its row meanwhile. */
    private static final int RACE_ATTEMPTS = 3;

    ConflictHandler(PreparedShapes shapes, ConflictPolicy policy, ConflictLog log, OriginNames origins,
                    boolean knowsOrigins, SourceRows source, StreamStart streamStart) {
        this.shapes = shapes;
        this.streamStart = streamStart;
        this.source = source;
        this.policy = policy;
        this.log = log;
        this.origins = origins;
        this.knowsOrigins = knowsOrigins;
    }

    /** What the next change came with ({@link Lineage}), null when its table keeps none. */
    void remoteLineage(Lineage.Message lineage) {
        this.remoteLineage = lineage;
        this.moves = 0;
    }

    /** Marks the delete half of a change of key, which {@link RowWriter} weighs before the insert half. */
    void weighingOldKey(boolean oldKey) {
        this.oldKey = oldKey;
    }

    long conflicts() {
        return conflicts;
    }

    /**
     * A remote INSERT found its key taken, or deleted here by a change of another origin: it is
     * weighed against the row if there is one (insert_exists), else against the delete (insert_deleted).
     */
    void insertConflict(RemoteTxn txn, TableMapping m, TupleData row, int[] writeIdx) throws SQLException {
        for (int attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
            try {
                if (tryInsert(txn, m, row, writeIdx)) {
                    return;
                }
            } catch (LineageMoved e) {
                // weigh again
            }
        }
        throw raced(txn, m, row);
    }

    /** One weighing of a remote INSERT; false when the application took the key between look-up and write. */
    private boolean tryInsert(RemoteTxn txn, TableMapping m, TupleData row, int[] writeIdx) throws SQLException {
        Optional<LocalVersion> local = lockLocalRow(txn, m, row);
        if (local.isPresent()) {
            Resolution r = decide(ConflictType.INSERT_EXISTS, txn, m, local.get());
            if (r == Resolution.APPLY_REMOTE) {
                overwrite(m, row, writeIdx, row);
            }
            record(ConflictType.INSERT_EXISTS, r, txn, m, local.get(), row, row, writeIdx);
            return true;
        }
        Optional<LocalVersion> tomb = tombstone(txn, m, row);
        Resolution r = tomb.isEmpty() ? Resolution.APPLY_REMOTE : decide(ConflictType.INSERT_DELETED, txn, m, tomb.get());
        if (r == Resolution.APPLY_REMOTE && !insertIfAbsent(m, row, writeIdx)) {
            return false;
        }
        if (tomb.isPresent()) {
            record(ConflictType.INSERT_DELETED, r, txn, m, tomb.get(), row, row, writeIdx);
        }
        return true;
    }

    /**
     * A remote UPDATE that keeps its key touched no row: either the row is gone or another origin
     * wrote it last. (An UPDATE that changes the key is a delete plus an insert for conflicts, and
     * {@link RowWriter} hands the two parts to {@link #deleteNotApplied} and {@link #insertConflict}.)
     */
    void updateNotApplied(RemoteTxn txn, TableMapping m, TupleData keyTuple, TupleData newTuple, int[] setIdx)
            throws SQLException {
        for (int attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
            try {
                if (tryUpdate(txn, m, keyTuple, newTuple, setIdx)) {
                    return;
                }
            } catch (LineageMoved e) {
                // weigh again
            }
        }
        throw raced(txn, m, keyTuple);
    }

    private boolean tryUpdate(RemoteTxn txn, TableMapping m, TupleData keyTuple, TupleData newTuple, int[] setIdx)
            throws SQLException {
        Optional<LocalVersion> local = lockLocalRow(txn, m, keyTuple);
        if (local.isPresent()) {
            Resolution r = decide(ConflictType.UPDATE_DIFFERS, txn, m, local.get());
            if (r == Resolution.APPLY_REMOTE) {
                overwrite(m, newTuple, setIdx, keyTuple);
            }
            record(ConflictType.UPDATE_DIFFERS, r, txn, m, local.get(), keyTuple, newTuple, setIdx);
            return true;
        }
        LocalVersion tomb = tombstone(txn, m, keyTuple).orElse(null);
        Resolution r = decide(ConflictType.UPDATE_MISSING, txn, m, tomb);
        if (r == Resolution.APPLY_REMOTE) {
            // The node that made this update has the row: writing it whole is how this node gets there too.
            Optional<TupleData> whole = complete(m, newTuple);
            if (whole.isEmpty()) {
                // The source no longer has the row either: the delete that removed it there comes
                // after this change in the same stream and ends the row here too.
                r = Resolution.SKIP;
            } else if (!insertIfAbsent(m, whole.get(), m.writableIn(whole.get()))) {
                return false; // inserted here meanwhile: weigh against that row now
            }
        }
        record(ConflictType.UPDATE_MISSING, r, txn, m, tomb, keyTuple, newTuple, setIdx);
        return true;
    }

    /**
     * The insert half of a key-changing UPDATE whose new image lacks values (unchanged TOAST) that
     * the source no longer holds either: the row moved on or was deleted there, and the change
     * that did so follows in the stream. Recorded, so that it is not silent.
     */
    void rekeyedRowGone(RemoteTxn txn, TableMapping m, TupleData newTuple) throws SQLException {
        record(ConflictType.UPDATE_MISSING, Resolution.SKIP, txn, m, null, newTuple, newTuple, m.writableIn(newTuple));
    }

    /**
     * The change's new image as the target must write it: with the values it left out read from
     * the source where the target cannot be sure to hold them (a mesh of three nodes or more,
     * {@link SourceRows#everyUnchanged}); as it came otherwise, or when the source no longer has
     * the row (the change that removed it follows).
     */
    TupleData whole(TableMapping m, TupleData t) throws SQLException {
        return source.everyUnchanged() && !m.isComplete(t) ? complete(m, t).orElse(t) : t;
    }

    /**
     * {@code t} with the values it left out (unchanged TOAST) taken from the source's current row
     * by key; {@code t} itself when it is complete; empty when the source no longer has the row.
     */
    Optional<TupleData> complete(TableMapping m, TupleData t) throws SQLException {
        if (m.isComplete(t)) {
            return Optional.of(t);
        }
        List<String> keyValues = new ArrayList<>();
        for (int k : m.key()) {
            keyValues.add(t.text(k));
        }
        Optional<String[]> row = source.read(m.table(), Arrays.asList(m.columns()), m.names(m.key()), keyValues);
        if (row.isEmpty()) {
            return Optional.empty();
        }
        TupleData.Builder whole = new TupleData.Builder();
        for (int i = 0; i < t.size(); i++) {
            switch (t.kind(i)) {
                case NULL -> whole.addNull();
                case TEXT -> whole.addText(t.text(i));
                case BINARY -> whole.addBinary(t.binary(i));
                case UNCHANGED_TOAST -> whole.addText(row.get()[i]);
            }
        }
        return Optional.of(whole.build());
    }

    /**
     * The application changed the key under the resolution again and again: rare, and settled by
     * a retry of the task, which applies the transaction anew.
     */
    private static SQLException raced(RemoteTxn txn, TableMapping m, TupleData keyTuple) {
        return new SQLException("the change of " + m.table() + " committed at " + txn.finalLsn() + " on "
                + txn.sourceNode() + " kept meeting a different local row for key " + RowImage.of(m, keyTuple, m.key())
                + " while it was resolved; the task retries it", "40001");
    }

    /** A remote UPDATE or DELETE of a REPLICA IDENTITY FULL table found no equal row: nothing to weigh it against. */
    void fullRowMissing(ConflictType type, RemoteTxn txn, TableMapping m, TupleData oldTuple, TupleData newTuple)
            throws SQLException {
        decide(type, txn, m, null);
        int[] all = Shapes.all(oldTuple.size());
        record(type, Resolution.SKIP, txn, m, null, oldTuple, newTuple == null ? oldTuple : newTuple, all);
    }

    /** A remote DELETE touched no row. */
    void deleteNotApplied(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        for (int attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
            try {
                tryDelete(txn, m, keyTuple);
                return;
            } catch (LineageMoved e) {
                // weigh again
            }
        }
        throw raced(txn, m, keyTuple);
    }

    /**
     * The key's lineage belongs to the version now on the key, not to the one just read: a local
     * transaction or another task committed a write of the key in between. Weighed again.
     */
    private static final class LineageMoved extends RuntimeException {
        LineageMoved() {
            super(null, null, false, false);
        }
    }

    private void tryDelete(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        Optional<LocalVersion> local = lockLocalRow(txn, m, keyTuple);
        if (local.isPresent()) {
            Resolution r = decide(ConflictType.DELETE_DIFFERS, txn, m, local.get());
            if (r == Resolution.APPLY_REMOTE) {
                // The tombstone trigger records this delete with the remote's commit time and origin.
                String name = shapes.name(m.relationId() + ":D-force",
                        () -> SqlRenderer.delete(m.table(), m.names(m.key()), null));
                execute(new ExecuteCall(name).values(keyTuple, m.key()).sql());
            }
            record(ConflictType.DELETE_DIFFERS, r, txn, m, local.get(), keyTuple, keyTuple, m.key());
            return;
        }
        LocalVersion tomb = tombstone(txn, m, keyTuple).orElse(null);
        Resolution r = decide(ConflictType.DELETE_MISSING, txn, m, tomb);
        if (r == Resolution.APPLY_REMOTE && m.tombstones() != null) {
            // Nothing to delete, but the delete is still the newest version: an older change arriving later must see it.
            String name = shapes.name(m.relationId() + ":T-upsert",
                    () -> SqlRenderer.upsertTombstone(m.tombstones(), m.names(m.key())));
            execute(new ExecuteCall(name).values(keyTuple, m.key()).sql());
        }
        record(ConflictType.DELETE_MISSING, r, txn, m, tomb, keyTuple, keyTuple, m.key());
    }

    /**
     * The local version, ordered against the change. The change's own knowledge says whether its
     * node had seen the version; what the version's node had seen when it wrote it (in a mesh of
     * three nodes or more, {@link SeenHistory}) says whether it was made after the change.
     */
    private LocalVersion version(RemoteTxn txn, TableMapping m, TupleData keyTuple, String image, Timestamp ts,
                                 long roident) throws SQLException {
        if (ts == null) {
            return new LocalVersion(image, null, null, Order.CONCURRENT, null);
        }
        Instant time = ts.toInstant();
        String node = origins.nodeOf(roident);
        Order order = Order.CONCURRENT;
        if (txn.seen().saw(node, time) || seenBeforeStreamStart(txn, node, time)) {
            order = Order.REMOTE_LATER;
        } else if (!node.equals(txn.sourceNode()) && !node.equals(origins.nodeOf(0))
                && SeenHistory.at(shapes.connection(), node, time).saw(txn.sourceNode(), txn.commitTime())) {
            // A third node's version: only a mesh of three nodes or more has one, and a history of it.
            order = Order.LOCAL_LATER;
        }
        Lineage.Fork fork = null;
        if (order == Order.CONCURRENT && m.lineage() != null && remoteLineage != null) {
            // The lineages tell causality too: a local version made over the change, which the
            // change's knowledge cannot show (a third node's version whose history is gone).
            Lineage.Order byLineage = lineageOrder(txn, m, keyTuple, new Lineage.Version(node, time), roident);
            if (byLineage instanceof Lineage.LocalDescends) {
                order = Order.LOCAL_LATER;
            } else if (byLineage instanceof Lineage.RemoteDescends) {
                order = Order.REMOTE_LATER;
            } else if (byLineage instanceof Lineage.Fork f) {
                fork = f;
            }
        }
        return new LocalVersion(image, time, node, order, fork);
    }

    /**
     * True when the key's local version is no longer {@code local}: a local transaction or
     * another task committed a write of it since it was read.
     */
    private boolean versionMoved(TableMapping m, TupleData keyTuple, Lineage.Version local, long roident)
            throws SQLException {
        String name = shapes.name(m.relationId() + ":V-now", () -> SqlRenderer.currentVersion(m.table(), m.tombstones(),
                m.names(m.key())));
        ExecuteCall call = new ExecuteCall(name).values(keyTuple, m.key());
        if (m.tombstones() != null) {
            call.values(keyTuple, m.key());
        }
        try (Statement st = shapes.connection().createStatement(); ResultSet rs = st.executeQuery(call.sql())) {
            if (!rs.next()) {
                return true;
            }
            Timestamp ts = rs.getTimestamp(1);
            return ts == null || !ts.toInstant().equals(local.time()) || rs.getLong(2) != roident;
        }
    }

    /**
     * How the local version and the change stand by the lineage of each (the local one only if it
     * belongs to the local version).
     */
    private Lineage.Order lineageOrder(RemoteTxn txn, TableMapping m, TupleData keyTuple, Lineage.Version local,
                                       long roident) throws SQLException {
        String name = shapes.name(m.relationId() + ":L-local",
                () -> SqlRenderer.selectLineage(m.lineage(), m.names(m.key())));
        Lineage mine = Lineage.ROOT;
        try (Statement st = shapes.connection().createStatement();
             ResultSet rs = st.executeQuery(new ExecuteCall(name).values(keyTuple, m.key()).sql())) {
            if (rs.next()) {
                Timestamp ts = rs.getTimestamp(2);
                boolean ours = ts != null && ts.toInstant().equals(local.time()) && rs.getLong(3) == roident;
                if (!ours && moves < 2 && versionMoved(m, keyTuple, local, roident)) {
                    moves++;
                    throw new LineageMoved();
                }
                mine = ours ? Lineage.parse(rs.getString(1)) : Lineage.UNKNOWN;
            }
        }
        String ancestors = oldKey ? remoteLineage.oldKeyAncestors() : remoteLineage.ancestors();
        Lineage theirs = Lineage.parse(ancestors).then(new Lineage.Version(txn.sourceNode(), txn.commitTime()));
        return Lineage.order(mine.then(local), theirs);
    }

    /**
     * A version of the target's own from before its stream toward the source began, which the
     * session did not know of yet when it opened (the first run of a mesh: {@link StreamStart}).
     */
    private boolean seenBeforeStreamStart(RemoteTxn txn, String node, Instant time) throws SQLException {
        String local = origins.nodeOf(0);
        return node.equals(local) && !txn.seen().asMap().containsKey(local)
                && streamStart.lookUp(shapes.connection()).map(t -> !time.isAfter(t)).orElse(false);
    }

    private Resolution decide(ConflictType type, RemoteTxn txn, TableMapping m, LocalVersion local) {
        if (local != null && local.order() != Order.CONCURRENT) {
            return local.order() == Order.REMOTE_LATER ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
        }
        Conflict c = conflict(type, txn, m, local);
        Resolution r = policy.resolverFor(m.table()).resolve(c);
        if (r == Resolution.ERROR) {
            throw new UnresolvableChangeException("conflict " + type.label() + (local == null || local.node() == null ? ""
                    : " with the version written by " + local.node() + " at " + local.commitTime())
                    + ", and the resolution of " + m.table() + " is error", null);
        }
        return r;
    }

    private static Conflict conflict(ConflictType type, RemoteTxn txn, TableMapping m, LocalVersion local) {
        return new Conflict(type, m.table(), txn.sourceNode(), txn.commitTime(),
                local == null ? null : local.node(), local == null ? null : local.commitTime(),
                local == null ? null : local.fork());
    }

    private void record(ConflictType type, Resolution r, RemoteTxn txn, TableMapping m, LocalVersion local,
                        TupleData keyTuple, TupleData remote, int[] remoteIdx) throws SQLException {
        if (local != null && local.order() != Order.CONCURRENT) {
            return; // not concurrent: no conflict
        }
        log.record(new ConflictLog.Entry(conflict(type, txn, m, local), r, RowImage.of(m, keyTuple, m.key()),
                local == null ? null : local.imageJson(), RowImage.of(m, remote, remoteIdx), txn.finalLsn()));
        conflicts++;
    }

    /**
     * The remote version won: the local row takes its values. Values it left out (unchanged TOAST)
     * are the winner's too, and the local row may hold another version of them, so they are read
     * from the source; if the source no longer has the row, the delete that removed it follows.
     */
    private void overwrite(TableMapping m, TupleData values, int[] columns, TupleData keyTuple) throws SQLException {
        if (!m.isComplete(values)) {
            Optional<TupleData> whole = complete(m, values);
            if (whole.isPresent()) {
                values = whole.get();
                columns = m.writableIn(values);
            }
        }
        int[] setIdx = java.util.Arrays.stream(columns).filter(i -> m.updatable()[i]).toArray();
        String name = shapes.name(m.relationId() + ":U-force:" + Shapes.mask(setIdx),
                () -> SqlRenderer.update(m.table(), m.names(setIdx), m.names(m.key()), null));
        execute(new ExecuteCall(name).values(values, setIdx).values(keyTuple, m.key()).sql());
    }

    /**
     * Writes the row unless its key is taken; false when it is (a local transaction inserted it since
     * the row was looked up). A tombstone of its key stays, older than the row, and loses to it from now on.
     */
    private boolean insertIfAbsent(TableMapping m, TupleData row, int[] writeIdx) throws SQLException {
        // Without a unique index on the key a collision cannot be told; such a table has no tombstones either.
        String name = shapes.name(m.relationId() + ":I-absent:" + Shapes.mask(writeIdx), () -> SqlRenderer.insert(m.table(),
                m.names(writeIdx), m.upsertable() ? m.names(m.key()) : java.util.List.of()));
        try (Statement st = shapes.connection().createStatement()) {
            return st.executeUpdate(new ExecuteCall(name).values(row, writeIdx).sql()) == 1;
        }
    }

    private void execute(String sql) throws SQLException {
        try (Statement st = shapes.connection().createStatement()) {
            st.execute(sql);
        }
    }

    private Optional<LocalVersion> lockLocalRow(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        String name = shapes.name(m.relationId() + ":S-local",
                () -> SqlRenderer.selectLocalRow(m.table(), m.names(m.key()), knowsOrigins));
        try (Statement st = shapes.connection().createStatement();
             ResultSet rs = st.executeQuery(new ExecuteCall(name).values(keyTuple, m.key()).sql())) {
            if (!rs.next()) {
                return Optional.empty();
            }
            Timestamp ts = rs.getTimestamp(2);
            return Optional.of(version(txn, m, keyTuple, rs.getString(1), ts, ts == null ? 0 : rs.getLong(3)));
        }
    }

    /** The delete that removed the key here, if this table keeps tombstones and one is on record. */
    private Optional<LocalVersion> tombstone(RemoteTxn txn, TableMapping m, TupleData keyTuple) throws SQLException {
        if (m.tombstones() == null) {
            return Optional.empty();
        }
        String name = shapes.name(m.relationId() + ":T-local",
                () -> SqlRenderer.selectTombstone(m.tombstones(), m.names(m.key()), knowsOrigins));
        try (Statement st = shapes.connection().createStatement();
             ResultSet rs = st.executeQuery(new ExecuteCall(name).values(keyTuple, m.key()).sql())) {
            if (!rs.next()) {
                return Optional.empty();
            }
            Timestamp ts = rs.getTimestamp(1);
            return Optional.of(version(txn, m, keyTuple, null, ts, ts == null ? 0 : rs.getLong(2)));
        }
    }
}
