package io.pgmesh.check;

import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.ColumnSequences;
import io.pgmesh.pg.ReplicaIdentity;
import io.pgmesh.pg.TableName;
import java.math.BigInteger;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reads the selected tables of one node: persistence, replica identity, columns, key sequences, privileges. */
final class TableCatalog {

    /** The tables pgmesh could publish (see PublicationManager), unlogged ones included to warn about them. */
    private static final String USER_TABLES = " WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u') AND "
            + ReplicaIdentity.IN_USER_SCHEMA;
    private static final String TABLES = """
            SELECT n.nspname, c.relname, c.relpersistence = 'u', %s,
                   has_schema_privilege(n.oid, 'USAGE'),
                   ARRAY(SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) p
                          WHERE NOT has_table_privilege(c.oid, p))::text[],
                   -- ALTER PUBLICATION ... ADD TABLE and ENABLE ALWAYS TRIGGER need the owner's rights
                   CASE WHEN NOT pg_has_role(c.relowner, 'USAGE') THEN pg_get_userbyid(c.relowner) END,
                   pn.nspname, pc.relname
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
              LEFT JOIN pg_class pc ON pc.oid = i.inhparent
              LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            """.formatted(ReplicaIdentity.HAS_IDENTITY) + USER_TABLES;
    // pg_depend, not pg_get_serial_sequence: that one needs USAGE on the table's schema and would fail
    // outright for a role that lacks it, which table_privileges reports instead.
    private static final String COLUMNS = """
            SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   COALESCE(a.attnum = ANY (k.indkey), false), sq.seq, sq.identity, sq.increment_by, sq.readable
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              LEFT JOIN pg_index k ON k.indrelid = c.oid AND %s
              LEFT JOIN LATERAL (
                    SELECT format('%%I.%%I', sn.nspname, sc.relname) AS seq, f.deptype = 'i' AS identity,
                           ps.seqincrement AS increment_by,
                           has_sequence_privilege(sc.oid, 'SELECT') AND has_schema_privilege(sn.oid, 'USAGE')
                               AS readable
                      FROM (-- a serial or identity column owns its sequence ...
                            SELECT d.objid AS seqid, d.deptype FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                               AND d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i')
                            UNION ALL
                            -- ... a DEFAULT nextval('some_seq') only depends on it through the default
                            SELECT d.refobjid, d.deptype FROM pg_attrdef ad
                              JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                                              AND d.refclassid = 'pg_class'::regclass
                             WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum
                            UNION ALL
                            %s) f
                      JOIN pg_class sc ON sc.oid = f.seqid AND sc.relkind = 'S'
                      JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                      JOIN pg_sequence ps ON ps.seqrelid = sc.oid
                     WHERE a.attnum = ANY (k.indkey)
                     LIMIT 1) sq ON true
            """.formatted(ReplicaIdentity.isIdentityIndex("k"), ColumnSequences.ancestorIdentity("c.oid", "a"))
            + USER_TABLES + " ORDER BY n.nspname, c.relname, a.attnum";

    /** Each table's indexes as CREATE INDEX statements without the index's name. */
    private static final String INDEXES = """
            SELECT n.nspname, c.relname,
                   array_agg(regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON ',
                                            'CREATE \\1INDEX ON ') ORDER BY 3)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            """ + USER_TABLES + " GROUP BY n.nspname, c.relname";

    private TableCatalog() {
    }

    /** The node's tables that {@code selection} picks, by name. */
    static Map<TableName, TableInfo> read(Connection conn, TableSelection selection) throws SQLException {
        Map<TableName, Columns> columns = columns(conn, selection);
        Map<TableName, List<String>> indexes = new TreeMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(INDEXES)) {
            while (rs.next()) {
                indexes.put(new TableName(rs.getString(1), rs.getString(2)), strings(rs.getArray(3)));
            }
        }
        Map<TableName, TableInfo> tables = new TreeMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(TABLES)) {
            while (rs.next()) {
                TableName t = new TableName(rs.getString(1), rs.getString(2));
                if (!selection.matches(t.schema(), t.name())) {
                    continue;
                }
                List<String> missing = new ArrayList<>();
                if (!rs.getBoolean(5)) {
                    missing.add("USAGE on schema " + t.schema());
                }
                missing.addAll(strings(rs.getArray(6)));
                if (rs.getString(7) != null) {
                    missing.add(TableInfo.OWNER_PREFIX + rs.getString(7));
                }
                Columns c = columns.getOrDefault(t, new Columns());
                TableName parent = rs.getString(8) == null ? null : new TableName(rs.getString(8), rs.getString(9));
                tables.put(t, new TableInfo(t, rs.getBoolean(3), rs.getBoolean(4), c.types, c.key, c.sequences,
                        missing, parent, indexes.getOrDefault(t, List.of())));
            }
        }
        return tables;
    }

    /** What the columns query gathers for one table. */
    private static final class Columns {
        final Map<String, String> types = new LinkedHashMap<>();
        final List<String> key = new ArrayList<>();
        final Map<String, TableInfo.KeySequence> sequences = new LinkedHashMap<>();
    }

    private static Map<TableName, Columns> columns(Connection conn, TableSelection selection) throws SQLException {
        Map<TableName, Columns> all = new TreeMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(COLUMNS)) {
            while (rs.next()) {
                TableName t = new TableName(rs.getString(1), rs.getString(2));
                if (!selection.matches(t.schema(), t.name())) {
                    continue;
                }
                Columns c = all.computeIfAbsent(t, k -> new Columns());
                String column = rs.getString(3);
                c.types.put(column, rs.getString(4));
                if (rs.getBoolean(5)) {
                    c.key.add(column);
                }
                if (rs.getString(6) != null) {
                    long increment = rs.getLong(8);
                    BigInteger next = rs.getBoolean(9) ? nextValue(conn, rs.getString(6), increment) : null;
                    c.sequences.put(column, new TableInfo.KeySequence(rs.getString(6), rs.getBoolean(7), increment,
                            next));
                }
            }
        }
        return all;
    }

    /**
     * The value the sequence hands out next. Read from the sequence itself: pg_sequences cannot
     * tell a sequence never used from one just RESTARTed, whose next value is its last_value.
     */
    private static BigInteger nextValue(Connection conn, String quotedSequence, long increment) throws SQLException {
        String sql = "SELECT CASE WHEN is_called THEN last_value::numeric + " + increment + " ELSE last_value END FROM "
                + quotedSequence;
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBigDecimal(1).toBigInteger();
        }
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }
}
