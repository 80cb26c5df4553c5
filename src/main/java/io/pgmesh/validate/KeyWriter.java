package io.pgmesh.validate;

import io.pgmesh.pg.KeyMatch;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Makes one key on a node equal to a version read on another node (the truth), as that node's
 * task would have written it: in a transaction of its own, under the replication origin of the
 * node that wrote the version (so nothing echoes back) and with the version's commit time (so a
 * later conflict over the row is judged against the same version everywhere). The session runs as
 * a replica, so the node's own triggers do not fire a second time.
 */
final class KeyWriter {
    /** A row as JSON with its commit time and writer's origin (null: the node's own), or no row (all null). */
    record Version(String json, String commitTime, String writerOrigin) {
        static Version read(Connection conn, TableName table, List<String> keyColumns, List<String> key)
                throws SQLException {
            return read(conn, table, keyColumns, key, false);
        }

        static Version read(Connection conn, TableName table, List<String> keyColumns, List<String> key, boolean lock)
                throws SQLException {
            String[] row = KeyMatch.rowJson(conn, table, keyColumns, key, lock);
            return new Version(row[0], row[1], row[2]);
        }

        boolean exists() {
            return json != null;
        }
    }

    /** Done in the transaction that writes the key, before it writes: given the node's version it replaces. */
    interface BeforeWrite {
        void run(Connection conn, Version onNode) throws SQLException;
    }

    private final Set<String> meshNodes;
    private final String truth;
    /** The origin each session has set up. */
    private final Map<Connection, String> sessionOrigins = new HashMap<>();
    /** The column lists per session and table: [0] what an INSERT writes, [1] what an UPDATE may set. */
    private final Map<Connection, Map<TableName, String[]>> columnLists = new HashMap<>();

    /**
     * @param meshNodes every node of the mesh by name
     * @param truth     the node whose versions are written
     */
    KeyWriter(Set<String> meshNodes, String truth) {
        this.meshNodes = meshNodes;
        this.truth = truth;
    }

    /** "insert", "update", "delete", or null when nothing needs to change. */
    static String change(Version truth, Version there) {
        if (!truth.exists()) {
            return there.exists() ? "delete" : null;
        }
        return !there.exists() ? "insert" : truth.json().equals(there.json()) ? null : "update";
    }

    /** A session that writes keys: a replica session, so the node's triggers do not fire again. */
    static void prepare(Connection conn) throws SQLException {
        Sql.exec(conn, NodeReader.SESSION_SETTINGS + "; SET session_replication_role = replica");
    }

    /**
     * Makes the key on the node {@code conn} is connected to, called {@code node}, equal to
     * {@code truth}, in one transaction that first locks and reads the node's own version of it
     * (so nothing written meanwhile is replaced unseen). Returns the change made ("insert",
     * "update", "delete"), or null when the node already held the truth's version.
     *
     * @param before    done in the transaction before the write, given the node's version; may be null
     * @param tombstone false: a delete leaves no tombstone (the trigger's is removed again): the
     *                  node takes the truth's state, and a tombstone stamped now would stand for a
     *                  delete that never happened there
     */
    String write(Connection conn, String node, TableName table, List<String> keyColumns, List<String> key,
                 Version truth, BeforeWrite before, boolean tombstone) throws SQLException {
        useOrigin(conn, writerOrigin(truth, node));
        String[] lists = columnLists(conn, table);
        conn.setAutoCommit(false);
        try {
            Version there = Version.read(conn, table, keyColumns, key, true);
            String change = change(truth, there);
            if (change == null) {
                conn.rollback();
                return null;
            }
            String sql = switch (change) {
                case "insert" -> "INSERT INTO " + table.quoted() + " (" + lists[0] + ") OVERRIDING SYSTEM VALUE SELECT "
                        + lists[0] + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json)";
                case "update" -> "UPDATE " + table.quoted() + " t SET (" + lists[1] + ") = (SELECT " + lists[1]
                        + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json)) WHERE "
                        + KeyMatch.condition(conn, table, "t", keyColumns);
                default -> "DELETE FROM " + table.quoted() + " t WHERE " + KeyMatch.condition(conn, table, "t", keyColumns);
            };
            String at = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(false)::text")
                    .orElse("0/0");
            Sql.queryString(conn, "SELECT pg_replication_origin_xact_setup(?::pg_lsn, COALESCE(?::timestamptz, now()))",
                    at, truth.commitTime());
            if (before != null) {
                before.run(conn, there);
            }
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                int p = 1;
                if (!change.equals("delete")) {
                    ps.setString(p++, truth.json());
                }
                if (!change.equals("insert")) {
                    for (String k : key) {
                        ps.setString(p++, k);
                    }
                }
                ps.executeUpdate();
            }
            if (change.equals("delete") && !tombstone) {
                dropTombstone(conn, table, keyColumns, key);
            }
            conn.commit();
            return change;
        } catch (SQLException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(true);
        }
    }

    private static void dropTombstone(Connection conn, TableName table, List<String> keyColumns, List<String> key)
            throws SQLException {
        var tomb = Sql.queryString(conn, "SELECT to_regclass('pgmesh.deleted_' || ?::regclass::oid)::text", table.quoted());
        if (tomb.isEmpty()) {
            return;
        }
        TableName t = new TableName("pgmesh", tomb.get().substring("pgmesh.".length()));
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM " + t.quoted() + " t WHERE "
                + KeyMatch.condition(conn, t, "t", keyColumns))) {
            for (int i = 0; i < key.size(); i++) {
                ps.setString(i + 1, key.get(i));
            }
            ps.executeUpdate();
        }
    }

    /** Ends the origin sessions on {@code conn}, so that the origins are free for the tasks again. */
    void release(Connection conn) throws SQLException {
        if (sessionOrigins.remove(conn) != null) {
            Sql.queryString(conn, "SELECT pg_replication_origin_session_reset()");
        }
        columnLists.remove(conn);
    }

    /**
     * The origin the version is written under: the one of the node that wrote the row on the
     * truth (its own origin when the truth wrote it), so every node holds the same version of it.
     * A row the target itself wrote, or a delete, is written under the truth's origin.
     */
    private String writerOrigin(Version version, String node) {
        String writer = version.writerOrigin() == null ? truth : Names.nodeOfOrigin(version.writerOrigin());
        return Names.origin(!version.exists() || !meshNodes.contains(writer) || writer.equals(node) ? truth : writer);
    }

    private void useOrigin(Connection conn, String origin) throws SQLException {
        if (origin.equals(sessionOrigins.get(conn))) {
            return;
        }
        if (sessionOrigins.containsKey(conn)) {
            Sql.queryString(conn, "SELECT pg_replication_origin_session_reset()");
        }
        if (Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", origin).isEmpty()) {
            Sql.queryString(conn, "SELECT pg_replication_origin_create(?)", origin);
        }
        Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", origin);
        sessionOrigins.put(conn, origin);
    }

    /**
     * What an INSERT writes (every stored column, identity ones too, with OVERRIDING SYSTEM
     * VALUE), and what an UPDATE may set (not a GENERATED ALWAYS identity, which only DEFAULT may set).
     */
    private String[] columnLists(Connection conn, TableName table) throws SQLException {
        Map<TableName, String[]> lists = columnLists.computeIfAbsent(conn, c -> new HashMap<>());
        String[] list = lists.get(table);
        if (list == null) {
            String columns = "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0"
                    + " AND NOT attisdropped AND attgenerated = ''";
            list = new String[] {String.join(", ", Sql.queryColumn(conn, columns + " ORDER BY attnum", table.quoted())),
                    String.join(", ", Sql.queryColumn(conn, columns + " AND attidentity <> 'a' ORDER BY attnum",
                            table.quoted()))};
            lists.put(table, list);
        }
        return list;
    }
}
