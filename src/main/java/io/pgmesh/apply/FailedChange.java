package io.pgmesh.apply;

import io.pgmesh.conflict.ApplyErrorLog;
import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.Update;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A change that could not be applied, described from the source's relation description (so it can
 * be told even when the target lacks the table): which node, table, operation and key, at which
 * source commit, with its full row images.
 */
record FailedChange(RemoteTxn txn, String table, String operation, String keyJson, String oldRowJson,
                    String newRowJson) {

    static FailedChange of(RemoteTxn txn, WalMessage change, IntFunction<Relation> relations) {
        if (change instanceof WalMessage.Truncate t) {
            List<String> tables = new ArrayList<>();
            for (int id : t.relationIds()) {
                tables.add(name(relations.apply(id)).toString());
            }
            return new FailedChange(txn, String.join(", ", tables), "TRUNCATE", null, null, null);
        }
        int relationId = change instanceof Insert i ? i.relationId()
                : change instanceof Update u ? u.relationId() : ((Delete) change).relationId();
        Relation r = relations.apply(relationId);
        String[] columns = r.columns().stream().map(Relation.Column::name).toArray(String[]::new);
        int[] key = keyIndexes(r);
        String table = name(r).toString();
        if (change instanceof Insert i) {
            return new FailedChange(txn, table, "INSERT", image(columns, i.newTuple(), key), null,
                    RowImage.of(columns, i.newTuple()));
        }
        if (change instanceof Update u) {
            TupleData keyTuple = u.oldTuple() != null ? u.oldTuple() : u.newTuple();
            return new FailedChange(txn, table, "UPDATE", image(columns, keyTuple, key),
                    u.oldTuple() == null ? null : RowImage.of(columns, u.oldTuple()), RowImage.of(columns, u.newTuple()));
        }
        Delete d = (Delete) change;
        return new FailedChange(txn, table, "DELETE", image(columns, d.oldTuple(), key), RowImage.of(columns, d.oldTuple()),
                null);
    }

    /** "UPDATE of public.accounts key {"id":"7"} committed on west at LSN 0/1A2B3C0": which change, in one phrase. */
    String describe() {
        return operation + " of " + table + (keyJson == null ? "" : " key " + keyJson) + " committed on "
                + txn.sourceNode() + " at LSN " + txn.finalLsn() + " (" + txn.commitTime() + ")";
    }

    ApplyErrorLog.Entry entry(String error, String sqlState) {
        return new ApplyErrorLog.Entry(txn.sourceNode(), table, operation, keyJson, oldRowJson, newRowJson,
                txn.finalLsn(), txn.commitTime(), error, sqlState);
    }

    private static TableName name(Relation r) {
        return new TableName(r.namespace(), r.name());
    }

    /** The key columns; all columns when the table is matched on its whole row (REPLICA IDENTITY FULL). */
    private static int[] keyIndexes(Relation r) {
        int[] key = java.util.stream.IntStream.range(0, r.columns().size()).filter(i -> r.columns().get(i).isKey()).toArray();
        return key.length == 0 ? Shapes.all(r.columns().size()) : key;
    }

    private static String image(String[] columns, TupleData tuple, int[] indexes) {
        return RowImage.of(columns, tuple, indexes);
    }
}
