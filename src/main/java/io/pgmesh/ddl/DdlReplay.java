package io.pgmesh.ddl;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * How a captured schema change runs on a target: with its origin's search_path, so unqualified
 * names resolve as they did there, and as its origin's role, so what it creates belongs to the
 * same role everywhere (a role the target lacks fails the change, by name). The role is taken
 * inside a SECURITY DEFINER function of that role ({@code pgmesh.replay_ddl}): code the change
 * runs cannot switch back to the apply session's own role.
 *
 * <p>The session's own settings are read once, when the apply session opens, and put back from
 * here after each change, at session level: code the change ran may have set them.
 * Replication sessions never capture the change again: they set {@code pgmesh.ddl_capture = off},
 * and their transactions carry a replication origin besides.
 */
public final class DdlReplay {
    /** How long a replayed change waits for a table lock before the task retries it later. */
    static final String LOCK_TIMEOUT = "10s";

    private final String searchPath;
    private final String statementTimeout;
    private final String lockTimeout;

    private DdlReplay(String searchPath, String statementTimeout, String lockTimeout) {
        this.searchPath = searchPath;
        this.statementTimeout = statementTimeout;
        this.lockTimeout = lockTimeout;
    }

    /** Reads the apply session's settings, to put them back after each change. */
    public static DdlReplay of(Connection conn) throws SQLException {
        return new DdlReplay(Sql.queryString(conn, "SHOW search_path").orElse(""),
                Sql.queryString(conn, "SHOW statement_timeout").orElse("0"),
                Sql.queryString(conn, "SHOW lock_timeout").orElse("0"));
    }

    /**
     * The statements that run {@code d} inside the open apply transaction. A change may rightly
     * run long (a table rewrite, an index build): the statement bound is lifted, but a lock it
     * waits for more than {@link #LOCK_TIMEOUT} makes the task retry rather than queue every
     * session of the table behind it.
     */
    public String inTransaction(DdlMessage d) {
        return "SELECT " + settings(d, true) + ", set_config('lock_timeout', " + Ident.literal(LOCK_TIMEOUT) + ", true);\n"
                + "SELECT pgmesh.replay_ddl(" + Ident.literal(d.statement()) + ", " + Ident.literal(d.role()) + ");\n"
                + "SELECT " + restore();
    }

    /**
     * Runs {@code d} outside any transaction ({@code CREATE INDEX CONCURRENTLY}): it cannot run in
     * a function, so the role is set for the session. An index build runs its expressions as the
     * table's owner, with role changes refused, whatever the session's role.
     */
    public void outsideTransaction(Connection conn, DdlMessage d) throws SQLException {
        Sql.exec(conn, "SELECT " + settings(d, false) + ", set_config('role', " + Ident.literal(d.role()) + ", false)");
        try {
            Sql.exec(conn, d.statement());
        } finally {
            Sql.exec(conn, "RESET ROLE");
            Sql.exec(conn, "SELECT " + restore());
        }
    }

    private static String settings(DdlMessage d, boolean local) {
        return "set_config('search_path', " + Ident.literal(d.searchPath() == null ? "" : d.searchPath()) + ", " + local
                + "), set_config('statement_timeout', '0', " + local + "), set_config('standard_conforming_strings', "
                + Ident.literal(d.standardConformingStrings()) + ", " + local + ")";
    }

    /** The session's own settings again; at session level, since the change's code may have set them there. */
    private String restore() {
        return "set_config('search_path', " + Ident.literal(searchPath) + ", false), set_config('statement_timeout', "
                + Ident.literal(statementTimeout) + ", false), set_config('lock_timeout', " + Ident.literal(lockTimeout)
                + ", false), set_config('standard_conforming_strings', 'on', false)";
    }
}
