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
            String[] row = KeyMatch.rowJson(conn, table, keyColumns, key);
            return new Version(row[0], row[1], row[2]);
        }

        boolean exists() {
            return json != null;
        }
    }

    /** Done in the transaction that writes the key, before it commits. */
    interface InTransaction {
        void run(Connection conn) throws SQLException;
    }

    private final Set<String> meshNodes;
    private final String truth;
    /** The origin each session has set up. */
    private final Map<Connection, String> sessionOrigins = new HashMap<>();
    /** The written column list per session and table. */
    private final Map<Connection, Map<TableName, String>> columnLists = new HashMap<>();

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
     * Writes {@code version} of the key on the node {@code conn} is connected to, called {@code node}.
     *
     * @param also done in the same transaction, before it commits; may be null
     */
    void write(Connection conn, String node, TableName table, List<String> keyColumns, List<String> key,
               String change, Version version, InTransaction also) throws SQLException {
        useOrigin(conn, writerOrigin(version, node));
        String list = columnList(conn, table);
        String sql = switch (change) {
            case "insert" -> "INSERT INTO " + table.quoted() + " (" + list + ") OVERRIDING SYSTEM VALUE SELECT " + list
                    + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json)";
            case "update" -> "UPDATE " + table.quoted() + " t SET (" + list + ") = (SELECT " + list
                    + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json)) WHERE "
                    + KeyMatch.condition(conn, table, "t", keyColumns);
            default -> "DELETE FROM " + table.quoted() + " t WHERE " + KeyMatch.condition(conn, table, "t", keyColumns);
        };
        conn.setAutoCommit(false);
        try {
            String at = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(false)::text")
                    .orElse("0/0");
            Sql.queryString(conn, "SELECT pg_replication_origin_xact_setup(?::pg_lsn, COALESCE(?::timestamptz, now()))",
                    at, version.commitTime());
            if (also != null) {
                also.run(conn);
            }
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                int p = 1;
                if (!change.equals("delete")) {
                    ps.setString(p++, version.json());
                }
                if (!change.equals("insert")) {
                    for (String k : key) {
                        ps.setString(p++, k);
                    }
                }
                ps.executeUpdate();
            }
            conn.commit();
        } catch (SQLException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(true);
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

    private String columnList(Connection conn, TableName table) throws SQLException {
        Map<TableName, String> lists = columnLists.computeIfAbsent(conn, c -> new HashMap<>());
        String list = lists.get(table);
        if (list == null) {
            list = String.join(", ", Sql.queryColumn(conn, "SELECT quote_ident(attname) FROM pg_attribute"
                    + " WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''"
                    + " ORDER BY attnum", table.quoted()));
            lists.put(table, list);
        }
        return list;
    }
}
