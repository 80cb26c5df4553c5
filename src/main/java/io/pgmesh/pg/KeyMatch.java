package io.pgmesh.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Finding one row by its key given as text (as validate reads keys, {@code column::text}): each
 * value is cast to the column's own type on that node, so the comparison is by value and the
 * key's index serves it.
 */
public final class KeyMatch {
    private KeyMatch() {
    }

    /** The column's type on this node, as {@code format_type} prints it. */
    public static String typeOf(Connection conn, TableName table, String column) throws SQLException {
        return Sql.queryString(conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                + " WHERE attrelid = ?::regclass AND attname = ?", table.quoted(), column)
                .orElseThrow(() -> new SQLException("column " + column + " of " + table + " is missing"));
    }

    /** {@code t."a" = ?::text::integer AND ...}: one text parameter per key column, in order. */
    public static String condition(Connection conn, TableName table, String alias, List<String> keyColumns)
            throws SQLException {
        List<String> parts = new ArrayList<>();
        for (String column : keyColumns) {
            parts.add(alias + "." + Ident.quote(column) + " = ?::text::" + typeOf(conn, table, column));
        }
        return String.join(" AND ", parts);
    }

    /**
     * The row with this key as JSON ({@code row_to_json}), its commit time and the replication
     * origin that wrote it (null for the node's own write); all null when there is no such row.
     */
    public static String[] rowJson(Connection conn, TableName table, List<String> keyColumns, List<String> key)
            throws SQLException {
        return rowJson(conn, table, keyColumns, key, false);
    }

    /** As {@link #rowJson(Connection, TableName, List, List)}; {@code lock}: the row is locked until the transaction ends. */
    public static String[] rowJson(Connection conn, TableName table, List<String> keyColumns, List<String> key,
                                   boolean lock) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT row_to_json(t)::text,"
                + " pg_xact_commit_timestamp(t.xmin)::text, (SELECT o.roname FROM pg_replication_origin o"
                + " WHERE o.roident = (pg_xact_commit_timestamp_origin(t.xmin)).roident) FROM " + table.quoted()
                + " t WHERE " + condition(conn, table, "t", keyColumns) + (lock ? " FOR UPDATE OF t" : ""))) {
            for (int i = 0; i < key.size(); i++) {
                ps.setString(i + 1, key.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new String[] {rs.getString(1), rs.getString(2), rs.getString(3)}
                        : new String[] {null, null, null};
            }
        }
    }
}
