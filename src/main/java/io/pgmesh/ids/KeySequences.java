package io.pgmesh.ids;

import io.pgmesh.pg.ColumnSequences;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads, on one node, the sequences that feed columns and the values in use. Changes nothing.
 */
final class KeySequences {

    /** A column whose values come from a sequence. */
    record Column(TableName table, String column) {
        @Override
        public String toString() {
            return table + "." + column;
        }
    }

    /*
     * A column is fed by a sequence when the sequence belongs to it as an identity (pg_depend type
     * 'i' from the sequence to the column), or when its default calls nextval on it (the default,
     * a pg_attrdef row, depends on the sequence): serial columns and hand-written
     * DEFAULT nextval('x') both take the second path.
     */
    private static final String FED_COLUMNS = """
            SELECT tn.nspname, t.relname, a.attname, sn.nspname, s.relname
              FROM pg_class t
              JOIN pg_namespace tn ON tn.oid = t.relnamespace
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
              JOIN LATERAL (
                    SELECT d.objid AS seq FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                       AND d.refobjid = t.oid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
                    UNION
                    SELECT d.refobjid FROM pg_attrdef ad
                      JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                                      AND d.refclassid = 'pg_class'::regclass
                     WHERE ad.adrelid = t.oid AND ad.adnum = a.attnum
                    UNION
                    SELECT objid FROM (%s) anc
                   ) fed ON true
              JOIN pg_class s ON s.oid = fed.seq AND s.relkind = 'S'
              JOIN pg_namespace sn ON sn.oid = s.relnamespace
             WHERE t.relkind = 'r'
             ORDER BY 4, 5, 1, 2, 3
            """.formatted(ColumnSequences.ancestorIdentity("t.oid", "a"));

    private KeySequences() {
    }

    /** The sequences that feed columns of {@code tables}, each with the columns it feeds. */
    static Map<TableName, List<Column>> fedColumns(Connection conn, Set<TableName> tables) throws SQLException {
        Map<TableName, List<Column>> bySequence = new TreeMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(FED_COLUMNS)) {
            while (rs.next()) {
                TableName table = new TableName(rs.getString(1), rs.getString(2));
                if (tables.contains(table)) {
                    bySequence.computeIfAbsent(new TableName(rs.getString(4), rs.getString(5)), k -> new ArrayList<>())
                            .add(new Column(table, rs.getString(3)));
                }
            }
        }
        return bySequence;
    }

    static SequenceState state(Connection conn, TableName sequence) throws SQLException {
        String quoted = Ident.qualified(sequence.schema(), sequence.name());
        try (PreparedStatement ps = conn.prepareStatement("""
                SELECT format_type(p.seqtypid, NULL), p.seqincrement, p.seqmin, p.seqmax, p.seqcache, s.last_value, s.is_called
                  FROM pg_sequence p, %s s
                 WHERE p.seqrelid = ?::regclass""".formatted(quoted))) {
            ps.setString(1, quoted);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new SequenceState(sequence, rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        rs.getLong(5), rs.getLong(6), rs.getBoolean(7));
            }
        }
    }

    /** Whether this node has the column (a table may be replicated from a node where it has no sequence). */
    static boolean exists(Connection conn, Column c) throws SQLException {
        return Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?)"
                + " AND attname = ? AND attnum > 0 AND NOT attisdropped)", c.table().quoted(), c.column());
    }

    /** The greatest value in the column, or Long.MIN_VALUE when it holds none. */
    static long maxInUse(Connection conn, Column c) throws SQLException {
        return Sql.queryString(conn, "SELECT max(" + Ident.quote(c.column()) + ")::bigint FROM " + c.table().quoted())
                .map(Long::parseLong).orElse(Long.MIN_VALUE);
    }

    /**
     * The greatest value of each residue mod {@code slots} in the column: what a sequence that
     * already steps by {@code slots} must stay above. One scan of the table.
     */
    static Map<Long, Long> maxByResidue(Connection conn, Column c, int slots) throws SQLException {
        String v = Ident.quote(c.column()) + "::bigint";
        String sql = "SELECT ((" + v + " % " + slots + ") + " + slots + ") % " + slots + ", max(" + v + ") FROM "
                + c.table().quoted() + " WHERE " + Ident.quote(c.column()) + " IS NOT NULL GROUP BY 1";
        Map<Long, Long> max = new HashMap<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                max.put(rs.getLong(1), rs.getLong(2));
            }
        }
        return max;
    }
}
