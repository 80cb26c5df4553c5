package io.pgmesh.setup;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.ReplicaIdentity;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.StringJoiner;

/**
 * The tombstones of a node: for each replicated table with a key, a table {@code pgmesh.deleted_<oid>}
 * of the keys deleted from it, written by a trigger on every delete, the application's and the
 * applied ones alike, and on every UPDATE that changes the key (its old key is gone as surely). A tombstone row's own commit timestamp and origin are those of the delete, so
 * conflict resolution can compare a remote change with the delete that removed its row, just as it
 * compares it with a live row. Without them a late UPDATE or INSERT could not tell whether the
 * row it misses was deleted before or after it, and nodes would disagree.
 *
 * <p>The trigger is {@code ENABLE ALWAYS}: it fires in apply sessions too
 * ({@code session_replication_role = replica}), where the delete's commit carries the source's
 * timestamp and origin. It is {@code SECURITY DEFINER}, so application roles need no rights on
 * the {@code pgmesh} schema. {@code DROP SCHEMA pgmesh CASCADE} removes the triggers with it.
 */
public final class Tombstones {
    public static final String TRIGGER = "pgmesh_deleted";
    /**
     * The trigger of a key-changing UPDATE: for conflicts that is a delete of the old key plus an
     * insert of the new one, so the old key gets a tombstone like any deleted key.
     */
    public static final String REKEY_TRIGGER = "pgmesh_rekeyed";

    private static final String KEYS = """
            SELECT c.oid::text, array_agg(a.attname::text ORDER BY k.ord)
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_index i ON i.indrelid = c.oid AND %s
              CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE n.nspname = ? AND c.relname = ?
             GROUP BY c.oid
            """.formatted(ReplicaIdentity.isIdentityIndex("i"));

    private Tombstones() {
    }

    /** The name of the tombstone table of the table with this oid. */
    public static TableName tableOf(String oid) {
        return new TableName("pgmesh", "deleted_" + oid);
    }

    /** Creates what is missing for each table; tables keyed by REPLICA IDENTITY FULL have no key and get none. */
    public static void ensure(Connection conn, Collection<TableName> tables) throws SQLException {
        for (TableName t : tables) {
            Key key = key(conn, t);
            if (key == null) {
                continue;
            }
            TableName tomb = tableOf(key.oid());
            boolean exists = Sql.queryBool(conn, "SELECT to_regclass(?) IS NOT NULL", tomb.quoted());
            boolean triggered = Sql.queryBool(conn, "SELECT count(*) = 2 FROM pg_trigger WHERE tgrelid = ?::oid"
                    + " AND tgname IN (?, ?) AND tgenabled = 'A'", key.oid(), TRIGGER, REKEY_TRIGGER);
            if (!exists || !triggered) {
                Sql.exec(conn, ddl(t, tomb, key.columns(), exists));
            }
        }
    }

    private record Key(String oid, List<String> columns) {
    }

    private static Key key(Connection conn, TableName t) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(KEYS)) {
            ps.setString(1, t.schema());
            ps.setString(2, t.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Key(rs.getString(1), new ArrayList<>(List.of((String[]) rs.getArray(2).getArray())));
            }
        }
    }

    /** One multi-statement string: it runs as one transaction, so a node never has half of it. */
    static String ddl(TableName table, TableName tomb, List<String> key, boolean tableExists) {
        StringJoiner cols = new StringJoiner(", ");
        StringJoiner olds = new StringJoiner(", ");
        StringJoiner changed = new StringJoiner(" OR ");
        key.forEach(c -> {
            cols.add(Ident.quote(c));
            olds.add("OLD." + Ident.quote(c));
            changed.add("OLD." + Ident.quote(c) + " IS DISTINCT FROM NEW." + Ident.quote(c));
        });
        String first = Ident.quote(key.get(0));
        StringBuilder sql = new StringBuilder();
        if (!tableExists) {
            sql.append("CREATE TABLE ").append(tomb.quoted()).append(" AS SELECT ").append(cols).append(" FROM ")
                    .append(table.quoted()).append(" WITH NO DATA;\n")
                    .append("ALTER TABLE ").append(tomb.quoted()).append(" ADD PRIMARY KEY (").append(cols).append(");\n");
        }
        // ON CONFLICT ... DO UPDATE writes a new version of the tombstone: its xmin is then this delete.
        sql.append("CREATE OR REPLACE FUNCTION ").append(tomb.quoted()).append("() RETURNS trigger LANGUAGE plpgsql")
                .append(" SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgmesh$\nBEGIN\n")
                .append("  INSERT INTO ").append(tomb.quoted()).append(" (").append(cols).append(") VALUES (").append(olds)
                .append(")\n    ON CONFLICT (").append(cols).append(") DO UPDATE SET ").append(first).append(" = EXCLUDED.")
                .append(first).append(";\n  RETURN NULL;\nEND\n$pgmesh$;\n")
                .append("DROP TRIGGER IF EXISTS ").append(TRIGGER).append(" ON ").append(table.quoted()).append(";\n")
                .append("CREATE TRIGGER ").append(TRIGGER).append(" AFTER DELETE ON ").append(table.quoted())
                .append(" FOR EACH ROW EXECUTE FUNCTION ").append(tomb.quoted()).append("();\n")
                .append("ALTER TABLE ").append(table.quoted()).append(" ENABLE ALWAYS TRIGGER ").append(TRIGGER).append(";\n")
                .append("DROP TRIGGER IF EXISTS ").append(REKEY_TRIGGER).append(" ON ").append(table.quoted()).append(";\n")
                .append("CREATE TRIGGER ").append(REKEY_TRIGGER).append(" AFTER UPDATE OF ").append(cols).append(" ON ")
                .append(table.quoted()).append(" FOR EACH ROW WHEN (").append(changed).append(") EXECUTE FUNCTION ")
                .append(tomb.quoted()).append("();\n")
                .append("ALTER TABLE ").append(table.quoted()).append(" ENABLE ALWAYS TRIGGER ").append(REKEY_TRIGGER);
        return sql.toString();
    }
}
