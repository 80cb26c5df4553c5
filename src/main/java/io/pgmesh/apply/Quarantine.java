package io.pgmesh.apply;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What a person does with a change quarantined in {@code pgmesh.apply_errors} once its cause is
 * fixed: apply it ({@link #retry}) or drop it ({@link #discard}).
 *
 * <p>A retried change is applied as its task would have: under the replication origin of its
 * source, so capture treats it as that source's and never sends it back, with the source's commit
 * timestamp, so conflict resolution later weighs it as the version it is, and with
 * {@code session_replication_role = replica}. The origin's progress does not move: the change's
 * commit LSN lies behind it. An origin serves one session at a time, so a retry fails while
 * {@code pgmesh run} applies changes from the same source to this node; it says so.
 */
public final class Quarantine {

    /** A quarantined change that cannot be retried or discarded as asked; the message says why. */
    public static final class QuarantineException extends Exception {
        public QuarantineException(String message) {
            super(message);
        }
    }

    private record Quarantined(String source, String table, String operation, String key, String newRow,
                               String lsn, String commitTime) {
        String describe() {
            return operation + " of " + table + (key == null ? "" : " key " + key) + " from " + source + " at LSN " + lsn;
        }
    }

    private Quarantine() {
    }

    /** Applies quarantined change {@code id} on this node and removes it from the quarantine; returns what it did. */
    public static String retry(Connection conn, String node, long id) throws SQLException, QuarantineException {
        Quarantined q = load(conn, node, id);
        if (q.operation().equals("DDL")) {
            // Its task holds before it and runs it again at each retry; running it here as well
            // would make the task's own attempt fail on what this one created.
            return node + ":" + id + " (" + q.describe() + ") is a schema change that holds its task: the task"
                    + " applies it by itself at its next retry once the cause is fixed (pgmesh status shows it), and"
                    + " the entry goes then";
        }
        if (q.operation().equals("TRUNCATE")) {
            throw new QuarantineException(node + ":" + id + " is a TRUNCATE of " + q.table() + "; run it yourself if"
                    + " it should apply, then pgmesh discard " + node + ":" + id);
        }
        String origin = Names.origin(q.source());
        try {
            Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", origin);
        } catch (SQLException e) {
            if (SqlStates.OBJECT_IN_USE.equals(e.getSQLState())) {
                throw new QuarantineException("cannot retry " + node + ":" + id + " now: replication origin " + origin
                        + " on " + node + " is in use by pgmesh run (the task " + q.source() + "->" + node
                        + "), and an origin serves one session at a time; stop pgmesh run, retry, then start it again");
            }
            throw e;
        }
        try {
            Sql.exec(conn, "SET session_replication_role = replica");
            conn.setAutoCommit(false);
            Sql.queryString(conn, "SELECT pg_replication_origin_xact_setup(?::pg_lsn, ?::timestamptz)", q.lsn(), q.commitTime());
            int changed = apply(conn, q);
            if (changed != 1) {
                conn.rollback();
                throw new QuarantineException("cannot retry " + node + ":" + id + ": the " + q.describe() + " "
                        + (q.operation().equals("INSERT") ? "would add a row that exists already"
                        : "finds no row with that key") + " on " + node + "; it stays quarantined (pgmesh discard "
                        + node + ":" + id + " drops it)");
            }
            Sql.queryString(conn, "DELETE FROM pgmesh.apply_errors WHERE id = ? RETURNING id", id);
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            if (SqlStates.isChangeError(e)) {
                throw new QuarantineException("cannot retry " + node + ":" + id + " (" + q.describe() + "): "
                        + io.pgmesh.pg.Errors.describe(e) + "; it stays quarantined");
            }
            throw e;
        } finally {
            conn.setAutoCommit(true);
            Sql.queryString(conn, "SELECT pg_replication_origin_session_reset()");
        }
        return "applied " + node + ":" + id + " (" + q.describe() + ") on " + node;
    }

    /** Drops quarantined change {@code id}; returns what it dropped. */
    public static String discard(Connection conn, String node, long id) throws SQLException, QuarantineException {
        Quarantined q = load(conn, node, id);
        if (q.operation().equals("DDL")) {
            // The task meets it again after its next retry and must pass it then: the mark says so.
            Sql.queryString(conn, "INSERT INTO pgmesh.ddl_discarded (source_node, remote_commit_lsn, statement)"
                    + " SELECT source_node, remote_commit_lsn, new_row ->> 'statement' FROM pgmesh.apply_errors"
                    + " WHERE id = ? ON CONFLICT DO NOTHING RETURNING 1", id);
        }
        Sql.queryString(conn, "DELETE FROM pgmesh.apply_errors WHERE id = ? RETURNING id", id);
        return "discarded " + node + ":" + id + " (" + q.describe() + ")"
                + (q.operation().equals("DDL") ? "; its task passes it at its next retry" : "");
    }

    private static Quarantined load(Connection conn, String node, long id) throws SQLException, QuarantineException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.apply_errors') IS NOT NULL")) {
            throw new QuarantineException("no apply error " + node + ":" + id + ": " + node + " has no pgmesh.apply_errors");
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT source_node, table_name, operation, key_values::text,"
                + " new_row::text, remote_commit_lsn::text, remote_commit_time::text FROM pgmesh.apply_errors WHERE id = ?")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new QuarantineException("no apply error " + node + ":" + id + " (pgmesh conflicts lists them)");
                }
                return new Quarantined(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getString(5), rs.getString(6), rs.getString(7));
            }
        }
    }

    /** Runs the change from its JSON images; returns the rows it changed. */
    private static int apply(Connection conn, Quarantined q) throws SQLException, QuarantineException {
        String table = quotedTable(q.table());
        List<String> keys = jsonKeys(conn, q.key());
        Map<String, Column> columns = writableColumns(conn, table);
        String keyMatch = match(keys);
        String sql;
        List<String> params = new ArrayList<>();
        switch (q.operation()) {
            case "INSERT" -> {
                List<String> cols = present(conn, q.newRow(), columns, false);
                String list = list(cols, "");
                sql = "INSERT INTO " + table + " (" + list + ") OVERRIDING SYSTEM VALUE SELECT " + list(cols, "r.")
                        + " FROM jsonb_populate_record(NULL::" + table + ", ?::jsonb) r";
                params.add(q.newRow());
            }
            case "UPDATE" -> {
                List<String> cols = present(conn, q.newRow(), columns, true);
                StringJoiner set = new StringJoiner(", ");
                cols.forEach(c -> set.add(Ident.quote(c) + " = r." + Ident.quote(c)));
                sql = "UPDATE " + table + " AS x SET " + set + " FROM jsonb_populate_record(NULL::" + table
                        + ", ?::jsonb) r, jsonb_populate_record(NULL::" + table + ", ?::jsonb) k WHERE " + keyMatch;
                params.add(q.newRow());
                params.add(q.key());
            }
            case "DELETE" -> {
                sql = "DELETE FROM " + table + " AS x USING jsonb_populate_record(NULL::" + table + ", ?::jsonb) k WHERE "
                        + keyMatch;
                params.add(q.key());
            }
            default -> throw new QuarantineException("unknown operation " + q.operation());
        }
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.size(); i++) {
                ps.setString(i + 1, params.get(i));
            }
            return ps.executeUpdate();
        }
    }

    /** {@code schema.table} as recorded, quoted; the first dot separates them, as pgmesh wrote it. */
    private static String quotedTable(String table) {
        int dot = table.indexOf('.');
        return Ident.qualified(table.substring(0, dot), table.substring(dot + 1));
    }

    private static List<String> jsonKeys(Connection conn, String json) throws SQLException {
        List<String> keys = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT jsonb_object_keys(?::jsonb)")) {
            ps.setString(1, json);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.add(rs.getString(1));
                }
            }
        }
        return keys;
    }

    private enum Column { WRITABLE, INSERT_ONLY, GENERATED }

    /** The target's columns: generated ones are never written, GENERATED ALWAYS identities only by an INSERT. */
    private static Map<String, Column> writableColumns(Connection conn, String table) throws SQLException {
        Map<String, Column> columns = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement("SELECT attname, attgenerated <> '', attidentity = 'a'"
                + " FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), rs.getBoolean(2) ? Column.GENERATED
                            : rs.getBoolean(3) ? Column.INSERT_ONLY : Column.WRITABLE);
                }
            }
        }
        return columns;
    }

    /** The columns of the image the statement writes; a column the target lacks is still a reason to fail. */
    private static List<String> present(Connection conn, String image, Map<String, Column> columns, boolean update)
            throws SQLException, QuarantineException {
        List<String> cols = jsonKeys(conn, image);
        for (Iterator<String> it = cols.iterator(); it.hasNext(); ) {
            String name = it.next();
            Column c = columns.get(name);
            if (c == null) {
                throw new QuarantineException("the target still lacks column " + name + "; add it, then retry");
            }
            if (c == Column.GENERATED || (update && c == Column.INSERT_ONLY)) {
                it.remove();
            }
        }
        return cols;
    }

    private static String match(List<String> keys) {
        StringJoiner where = new StringJoiner(" AND ");
        keys.forEach(k -> where.add("x." + Ident.quote(k) + " IS NOT DISTINCT FROM k." + Ident.quote(k)));
        return where.toString();
    }

    private static String list(List<String> cols, String prefix) {
        StringJoiner list = new StringJoiner(", ");
        cols.forEach(c -> list.add(prefix + Ident.quote(c)));
        return list.toString();
    }
}
