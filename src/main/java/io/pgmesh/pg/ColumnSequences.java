package io.pgmesh.pg;

/**
 * How PostgreSQL records which sequence feeds a column, for the queries that look it up. Besides
 * a serial or identity column's own sequence and a {@code DEFAULT nextval(...)}, a partition's
 * identity column uses its partitioned ancestor's sequence: from PostgreSQL 17 an identity column
 * of a partitioned table belongs to the parent, and the partition has no dependency of its own.
 */
public final class ColumnSequences {
    private ColumnSequences() {
    }

    /**
     * A query fragment yielding {@code (seqid oid, deptype "char")} rows: the identity sequences of
     * the same-named column of the partitioned ancestors of table {@code rel}, column {@code att}
     * (SQL expressions for the table's oid and the pg_attribute row's alias).
     */
    public static String ancestorIdentity(String rel, String att) {
        return "SELECT d.objid, d.deptype FROM pg_partition_ancestors(" + rel + ") anc(relid)"
                + " JOIN pg_attribute pa ON pa.attrelid = anc.relid AND pa.attname = " + att + ".attname"
                + " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
                + " AND d.refobjid = anc.relid AND d.refobjsubid = pa.attnum AND d.deptype = 'i'"
                + " WHERE " + att + ".attidentity <> '' AND anc.relid <> " + rel
                + " AND (SELECT relispartition FROM pg_class WHERE oid = " + rel + ")";
    }
}
