package io.pgmesh.apply;

import io.pgmesh.pg.SqlStates;
import io.pgmesh.pg.TableName;
import io.pgmesh.setup.Tombstones;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads what the applier must know about a table on the target: its columns and unique indexes. */
final class TargetCatalog {

    /** A target table: column name to whether it is generated, and the column sets of its unique indexes. */
    record TargetTable(TableName name, Map<String, Boolean> generatedByColumn, Set<String> identityAlways,
                       List<Set<String>> uniqueKeys, TableName tombstones, boolean copyable, TableName lineage) {
        boolean hasUniqueIndexOn(Set<String> columns) {
            return uniqueKeys.contains(columns);
        }
    }

    private static final String COLUMNS = """
            SELECT a.attname, a.attgenerated <> '', a.attidentity = 'a'
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
            """;
    private static final String UNIQUE_KEYS = """
            SELECT array_agg(a.attname::text)
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
             WHERE n.nspname = ? AND c.relname = ? AND i.indisunique AND i.indisvalid
               AND i.indpred IS NULL AND i.indexprs IS NULL
             GROUP BY i.indexrelid
            """;

    private TargetCatalog() {
    }

    static TargetTable describe(Connection conn, TableName table) throws SQLException {
        Map<String, Boolean> columns = new HashMap<>();
        Set<String> identityAlways = new HashSet<>();
        try (PreparedStatement ps = conn.prepareStatement(COLUMNS)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), rs.getBoolean(2));
                    if (rs.getBoolean(3)) {
                        identityAlways.add(rs.getString(1));
                    }
                }
            }
        }
        if (columns.isEmpty()) {
            throw new ApplyException("table " + table + " does not exist on the target; create it there with the same columns",
                    SqlStates.UNDEFINED_TABLE);
        }
        List<Set<String>> unique = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(UNIQUE_KEYS)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    unique.add(new HashSet<>(List.of((String[]) rs.getArray(1).getArray())));
                }
            }
        }
        return new TargetTable(table, columns, identityAlways, unique, tombstones(conn, table), copyable(conn, table),
                lineage(conn, table));
    }

    /** False when the table has row-level security (COPY FROM refuses it) or rules (COPY FROM ignores them). */
    private static boolean copyable(Connection conn, TableName table) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT NOT (c.relrowsecurity OR c.relhasrules) FROM pg_class c"
                + " WHERE c.oid = to_regclass(?)")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** The table's tombstone table ({@link Tombstones}), or null when it has none. */
    private static TableName tombstones(Connection conn, TableName table) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT c.oid::text FROM pg_class c"
                + " WHERE c.oid = to_regclass(?) AND to_regclass('pgmesh.deleted_' || c.oid) IS NOT NULL")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Tombstones.tableOf(rs.getString(1)) : null;
            }
        }
    }

    /** The table's lineage table ({@link io.pgmesh.setup.RowLineage}), or null when it has none. */
    private static TableName lineage(Connection conn, TableName table) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT c.oid::text FROM pg_class c"
                + " WHERE c.oid = to_regclass(?) AND to_regclass('pgmesh.lineage_' || c.oid) IS NOT NULL")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new TableName("pgmesh", "lineage_" + rs.getString(1)) : null;
            }
        }
    }
}
