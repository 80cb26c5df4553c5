package io.pgmesh.pg;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;

/** Small helpers for one-value queries, so catalog code reads as SQL and not as JDBC ceremony. */
public final class Sql {
    private Sql() {
    }

    public static void exec(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    public static int queryInt(Connection conn, String sql, Object... params) throws SQLException {
        return queryString(conn, sql, params).map(Integer::parseInt)
                .orElseThrow(() -> new SQLException("no row from: " + sql));
    }

    public static Optional<String> queryString(Connection conn, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        }
    }

    /** The first column of every row of a query, as text. */
    public static java.util.List<String> queryColumn(Connection conn, String sql, Object... params) throws SQLException {
        java.util.List<String> values = new java.util.ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    values.add(rs.getString(1));
                }
            }
        }
        return values;
    }

    /** Closes a connection whose state no longer matters (null is ignored). */
    /**
     * Runs a statement that removes at most {@code batch} rows (a DELETE with a LIMIT inside) until
     * it removes fewer, each run its own transaction in autocommit, so that removing many rows
     * never holds locks or a snapshot for long; returns the rows removed. Stops early when the
     * thread is interrupted.
     */
    public static long removeInBatches(PreparedStatement ps, int batch) throws SQLException {
        long removed = 0;
        int n;
        do {
            n = ps.executeUpdate();
            removed += n;
        } while (n == batch && !Thread.currentThread().isInterrupted());
        return removed;
    }

    public static void closeQuietly(Connection conn) {
        if (conn != null) {
            try {
                conn.close();
            } catch (SQLException ignored) {
                // broken or closed already; nothing depends on it
            }
        }
    }

    public static boolean queryBool(Connection conn, String sql, Object... params) throws SQLException {
        return queryString(conn, sql, params).map(s -> s.equals("t") || s.equals("true")).orElse(false);
    }
}
