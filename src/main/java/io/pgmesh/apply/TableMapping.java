package io.pgmesh.apply;

import io.pgmesh.pg.SqlStates;
import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import java.util.Arrays;
import io.pgmesh.wal.WalMessage.Relation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How the columns of a source relation land on the target table. Columns are matched by name,
 * never by position, because peers may order columns differently or carry extra ones.
 *
 * @param columns      source column names, in the order of the source's tuples
 * @param writable     per source column: written on the target (false for generated target columns)
 * @param updatable    per source column: may be SET by an UPDATE (false too for GENERATED ALWAYS identity
 *                     columns, which PostgreSQL lets only an INSERT with OVERRIDING SYSTEM VALUE write)
 * @param key          indexes (into {@code columns}) of the replica identity
 * @param fullIdentity REPLICA IDENTITY FULL: rows are matched on all old values
 * @param upsertable   the target has a unique index on exactly the key, so INSERT can detect insert_exists
 * @param tombstones   the target's table of deleted keys ({@link io.pgmesh.setup.Tombstones}), or null
 * @param copyable     COPY writes the table as INSERT does (no row-level security, which COPY refuses,
 *                     and no rules, which COPY ignores)
 * @param absent       per source column: the target has no such column (dropped there first, while the
 *                     source still had it). A change is applied without it when its value is NULL, since
 *                     nothing is lost; a value would be lost, so such a change is unresolvable.
 * @param lineage      the target's table of row lineages ({@link io.pgmesh.setup.RowLineage}), or null
 */
record TableMapping(int relationId, TableName table, String[] columns, boolean[] writable, boolean[] updatable, int[] key,
                    boolean fullIdentity, boolean upsertable, TableName tombstones, boolean copyable, boolean[] absent,
                    TableName lineage) {

    static TableMapping of(Relation relation, TargetCatalog.TargetTable target) {
        TableName table = new TableName(relation.namespace(), relation.name());
        int n = relation.columns().size();
        String[] columns = new String[n];
        boolean[] writable = new boolean[n];
        boolean[] updatable = new boolean[n];
        List<Integer> key = new ArrayList<>();
        Set<String> keyNames = new HashSet<>();
        boolean[] absent = new boolean[n];
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Relation.Column c = relation.columns().get(i);
            columns[i] = c.name();
            Boolean generated = target.generatedByColumn().get(c.name());
            absent[i] = generated == null;
            if (generated == null && (c.isKey() || relation.replicaIdentity() == Relation.REPLICA_IDENTITY_FULL)) {
                // Rows are found by these: without them on the target no change can be placed.
                missing.add(c.name());
            }
            writable[i] = generated != null && !generated;
            updatable[i] = writable[i] && !target.identityAlways().contains(c.name());
            if (c.isKey()) {
                key.add(i);
                keyNames.add(c.name());
            }
        }
        if (!missing.isEmpty()) {
            throw new ApplyException("table " + table + " on the target lacks column(s) " + missing
                    + " that the source matches rows by; add them on the target", SqlStates.UNDEFINED_COLUMN);
        }
        boolean full = relation.replicaIdentity() == Relation.REPLICA_IDENTITY_FULL;
        if (!full && key.isEmpty()) {
            throw new ApplyException("table " + table + " arrives without a replica identity key", null);
        }
        boolean upsertable = !full && target.hasUniqueIndexOn(keyNames);
        return new TableMapping(relation.relationId(), table, columns, writable, updatable,
                key.stream().mapToInt(Integer::intValue).toArray(), full, upsertable, upsertable ? target.tombstones() : null,
                // rows of a table with a lineage are written one statement each, each followed by its lineage
                target.copyable() && target.lineage() == null, absent, upsertable ? target.lineage() : null);
    }

    /**
     * Why {@code change} cannot be applied without losing a value: it carries one for a column the
     * target no longer has. Null when nothing is lost.
     */
    String lostValue(TupleData newTuple) {
        if (newTuple == null) {
            return null;
        }
        for (int i = 0; i < absent.length && i < newTuple.size(); i++) {
            if (absent[i] && !newTuple.isNull(i) && !newTuple.isUnchangedToast(i)) {
                return "table " + table + " on the target has no column " + columns[i] + " (it was dropped there),"
                        + " and the change carries a value for it: applying it would lose that value";
            }
        }
        return null;
    }

    List<String> names(int[] indexes) {
        List<String> names = new ArrayList<>(indexes.length);
        for (int i : indexes) {
            names.add(columns[i]);
        }
        return names;
    }

    /** The columns of {@code t} an INSERT writes: writable ones whose value was sent. */
    int[] writableIn(TupleData t) {
        return columnsIn(writable, t);
    }

    /** The columns of {@code t} an UPDATE sets. */
    int[] updatableIn(TupleData t) {
        return columnsIn(updatable, t);
    }

    /** True when {@code t} carries every writable column: enough to write the row from nothing. */
    boolean isComplete(TupleData t) {
        for (int i = 0; i < writable.length; i++) {
            if (writable[i] && t.kind(i) == TupleData.Kind.UNCHANGED_TOAST) {
                return false;
            }
        }
        return true;
    }

    private static int[] columnsIn(boolean[] allowed, TupleData t) {
        int n = 0;
        int[] idx = new int[t.size()];
        for (int i = 0; i < t.size(); i++) {
            if (allowed[i] && t.kind(i) != TupleData.Kind.UNCHANGED_TOAST) {
                idx[n++] = i;
            }
        }
        return n == idx.length ? idx : Arrays.copyOf(idx, n);
    }
}
