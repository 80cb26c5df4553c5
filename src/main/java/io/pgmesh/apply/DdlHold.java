package io.pgmesh.apply;

import io.pgmesh.ddl.DdlMessage;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.ZoneOffset;

/**
 * A schema change that failed on its target holds its task there: the rows after it were written
 * for the changed schema, so none of them may go first. The failure is recorded in
 * {@code pgmesh.apply_errors} (operation {@code DDL}, the statement in {@code new_row}) so that
 * {@code pgmesh conflicts} lists it and {@code pgmesh discard} can let the task pass it; the task
 * tries it again at every retry, so fixing the cause on the target is enough otherwise.
 */
final class DdlHold {
    private final Connection conn;
    private final String targetNode;

    DdlHold(Connection conn, String targetNode) {
        this.conn = conn;
        this.targetNode = targetNode;
    }

    /** A schema change that held a task, with what to do about it. */
    public static final class HeldException extends RuntimeException {
        HeldException(String message) {
            super(message);
        }
    }

    /** True when {@code pgmesh discard} let the task pass this change. */
    public boolean discarded(RemoteTxn t, DdlMessage d) throws SQLException {
        return Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pgmesh.ddl_discarded WHERE source_node = ?"
                + " AND remote_commit_lsn = ?::pg_lsn AND statement = ?)", t.sourceNode(), t.finalLsn().toString(), d.statement());
    }

    /**
     * Records the failure (once per change: a retry that fails again updates the entry) on a
     * connection with no transaction open; returns the exception that holds the task.
     */
    public HeldException record(RemoteTxn t, DdlMessage d, SQLException cause) throws SQLException {
        String error = Errors.describe(cause);
        String json = Sql.queryString(conn, "SELECT json_build_object('statement', ?::text, 'search_path', ?::text,"
                + " 'role', ?::text, 'tag', ?::text)::text", d.statement(), d.searchPath(), d.role(), d.tag()).orElseThrow();
        long id;
        try (PreparedStatement ps = conn.prepareStatement("""
                WITH old AS (
                    UPDATE pgmesh.apply_errors SET error = ?, sqlstate = ?, recorded_at = now()
                     WHERE source_node = ? AND target_node = ? AND operation = 'DDL' AND remote_commit_lsn = ?::pg_lsn
                       AND new_row ->> 'statement' = ?
                    RETURNING id)
                INSERT INTO pgmesh.apply_errors (source_node, target_node, table_name, operation, new_row,
                    remote_commit_lsn, remote_commit_time, error, sqlstate)
                SELECT ?, ?, ?, 'DDL', ?::jsonb, ?::pg_lsn, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM old)
                RETURNING id""")) {
            ps.setString(1, error);
            ps.setString(2, cause.getSQLState());
            ps.setString(3, t.sourceNode());
            ps.setString(4, targetNode);
            ps.setString(5, t.finalLsn().toString());
            ps.setString(6, d.statement());
            ps.setString(7, t.sourceNode());
            ps.setString(8, targetNode);
            ps.setString(9, d.object());
            ps.setString(10, json);
            ps.setString(11, t.finalLsn().toString());
            ps.setObject(12, t.commitTime().atOffset(ZoneOffset.UTC));
            ps.setString(13, error);
            ps.setString(14, cause.getSQLState());
            try (ResultSet rs = ps.executeQuery()) {
                id = rs.next() ? rs.getLong(1) : existing(t, d);
            }
        }
        String ref = targetNode + ":" + id;
        return new HeldException("cannot apply " + d.describe() + " committed on " + t.sourceNode() + " at LSN "
                + t.finalLsn() + " on " + targetNode + ": " + error + targetSide(d) + "; nothing after it is applied until it is"
                + " resolved: fix the cause on " + targetNode + " (the task tries again at each retry), or pgmesh"
                + " discard " + ref + " to skip it (then make the change on " + targetNode + " yourself if it should"
                + " be there)");
    }

    /**
     * The target's side of a clash (two nodes changed the same object at once): the table as the
     * target has it, so the message names both versions.
     */
    private String targetSide(DdlMessage d) throws SQLException {
        if (d.object() == null) {
            return "";
        }
        try {
            return tableAsTargetHasIt(d.object());
        } catch (SQLException e) {
            return "";  // not a table's name (PostgreSQL 15's to_regclass refuses "f(integer)" outright)
        }
    }

    private String tableAsTargetHasIt(String object) throws SQLException {
        return Sql.queryString(conn, """
                SELECT format('%I.%I', n.nspname, c.relname) || ' has (' || string_agg(quote_ident(a.attname) || ' '
                       || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) || ')'
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE c.oid = to_regclass(?) AND c.relkind IN ('r', 'p') GROUP BY n.nspname, c.relname""", object)
                .map(has -> " (on " + targetNode + ", " + has + ")").orElse("");
    }

    private long existing(RemoteTxn t, DdlMessage d) throws SQLException {
        return Long.parseLong(Sql.queryString(conn, "SELECT id FROM pgmesh.apply_errors WHERE source_node = ?"
                + " AND target_node = ? AND operation = 'DDL' AND remote_commit_lsn = ?::pg_lsn"
                + " AND new_row ->> 'statement' = ?", t.sourceNode(), targetNode, t.finalLsn().toString(),
                d.statement()).orElseThrow());
    }

    /** Clears the entry of a change that failed before, in the transaction that applies it at last. */
    public static String clearSql(RemoteTxn t) {
        return "DELETE FROM pgmesh.apply_errors WHERE source_node = " + Ident.literal(t.sourceNode())
                + " AND operation = 'DDL' AND remote_commit_lsn = " + Ident.literal(t.finalLsn().toString()) + "::pg_lsn";
    }
}
