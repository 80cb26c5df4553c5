package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Small JDBC helpers: every statement in autocommit unless the caller says otherwise. */
final class Db {
    private Db() {
    }

    static Connection open(EmbeddedPostgres pg, String db) throws SQLException {
        Connection c = pg.connect(db);
        c.setAutoCommit(true);
        return c;
    }

    static void exec(EmbeddedPostgres pg, String db, String... sql) throws SQLException {
        try (Connection c = open(pg, db)) {
            for (String s : sql) {
                exec(c, s);
            }
        }
    }

    static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** The first column of the first row as text, or null when there is no row. */
    static String str(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    static String str(EmbeddedPostgres pg, String db, String sql, Object... params) throws SQLException {
        try (Connection c = open(pg, db)) {
            return str(c, sql, params);
        }
    }

    /** The first column of the first row as a number; no row or NULL is {@code dflt}. */
    static long num(Connection c, long dflt, String sql, Object... params) throws SQLException {
        String s = str(c, sql, params);
        return s == null ? dflt : Long.parseLong(s);
    }

    static long num(EmbeddedPostgres pg, String db, long dflt, String sql, Object... params) throws SQLException {
        try (Connection c = open(pg, db)) {
            return num(c, dflt, sql, params);
        }
    }
}
