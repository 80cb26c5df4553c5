package io.pgmesh.pg;

/**
 * The catalog's answer to "can pgmesh replicate this table, and by which key?", as SQL fragments
 * over {@code pg_class c} and {@code pg_namespace n}. Check, capture, set-up and validate must
 * agree on it: a table that check passes but capture does not publish, or whose tombstones are
 * keyed differently from what validate compares by, would diverge without a word.
 */
public final class ReplicaIdentity {

    /** {@code c} lives in a schema of the application: not PostgreSQL's own, not pgmesh's. */
    public static final String IN_USER_SCHEMA = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgmesh')"
            + " AND n.nspname NOT LIKE 'pg\\_%'";

    /**
     * {@code c} identifies its rows in the WAL: PostgreSQL refuses UPDATE and DELETE on a
     * published table without an identity, so such a table is never published.
     */
    public static final String HAS_IDENTITY = "(c.relreplident = 'f' OR EXISTS (SELECT 1 FROM pg_index i"
            + " WHERE i.indrelid = c.oid AND " + isIdentityIndex("i") + "))";

    private ReplicaIdentity() {
    }

    /**
     * The index {@code alias} of {@code c} is the one whose columns the WAL carries as the old
     * key: the primary key by default, the chosen index with REPLICA IDENTITY USING INDEX, none
     * with FULL (the whole old row is the key) or NOTHING.
     */
    public static String isIdentityIndex(String alias) {
        return "CASE c.relreplident WHEN 'd' THEN " + alias + ".indisprimary WHEN 'i' THEN " + alias
                + ".indisreplident ELSE false END";
    }
}
