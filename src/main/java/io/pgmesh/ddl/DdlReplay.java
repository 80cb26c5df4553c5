package io.pgmesh.ddl;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * How a captured schema change runs on a target: with its origin's search_path, so unqualified
 * names resolve as they did there, and as its origin's role, so what it creates belongs to the
 * same role everywhere (a role the target lacks fails the change, by name). Both are put back
 * after the statement: the rows that follow in the apply session must not run as that role.
 * Replication sessions never capture it again: they set {@code pgmesh.ddl_capture = off}, and
 * their transactions carry a replication origin besides.
 */
public final class DdlReplay {
    private DdlReplay() {
    }

    /**
     * The statements that run {@code d} inside the open apply transaction. The statement ends with
     * a line break before the separator a batch appends: a trailing {@code --} comment would hide it.
     */
    public static String inTransaction(DdlMessage d) {
        return settings(d, true) + ";\n" + d.statement() + "\n;\nRESET ROLE;\nSELECT set_config('search_path', "
                + "current_setting('pgmesh.apply_search_path', true), true), set_config('statement_timeout', "
                + "current_setting('pgmesh.apply_statement_timeout', true), true)";
    }

    /** Runs {@code d} outside any transaction ({@code CREATE INDEX CONCURRENTLY}), then restores the session. */
    public static void outsideTransaction(Connection conn, DdlMessage d) throws SQLException {
        String path = Sql.queryString(conn, "SHOW search_path").orElse("");
        String timeout = Sql.queryString(conn, "SHOW statement_timeout").orElse("0");
        Sql.exec(conn, settings(d, false));
        try {
            Sql.exec(conn, d.statement());
        } finally {
            Sql.exec(conn, "RESET ROLE");
            Sql.exec(conn, "SELECT set_config('search_path', " + Ident.literal(path) + ", false), set_config("
                    + "'statement_timeout', " + Ident.literal(timeout) + ", false)");
        }
    }

    /**
     * Remembers the apply session's own settings where {@link #inTransaction} finds them again;
     * once per session.
     */
    public static void rememberSession(Connection conn) throws SQLException {
        Sql.exec(conn, "SELECT set_config('pgmesh.apply_search_path', current_setting('search_path'), false),"
                + " set_config('pgmesh.apply_statement_timeout', current_setting('statement_timeout'), false)");
    }

    /**
     * A schema change may rightly run long (a table rewrite, an index build): the apply session's
     * bound on a statement is lifted for it.
     */
    private static String settings(DdlMessage d, boolean local) {
        String role = d.role() == null ? null : Ident.literal(d.role());
        return "SELECT set_config('search_path', " + Ident.literal(d.searchPath() == null ? "" : d.searchPath()) + ", "
                + local + "), set_config('statement_timeout', '0', " + local + ")"
                + (role == null ? "" : ", CASE WHEN current_user <> " + role + " THEN set_config('role', " + role + ", "
                + local + ") END");
    }
}
