package io.pgmesh.validate;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.KeyMatch;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code validate --repair --from NODE}: makes every key validate found different equal, on every
 * other node, to NODE's row (or its absence). Each key is written in a transaction of its own
 * under NODE's replication origin, carrying the commit time of NODE's row: the other nodes' tasks
 * never send it back (it is not their node's change), and a later conflict over that row is
 * judged against the same version everywhere.
 */
public final class Repair {
    /** What the repair did (or would do, on a dry run) per node. */
    public record Outcome(int inserted, int updated, int deleted) {
        public int total() {
            return inserted + updated + deleted;
        }
    }

    private final MeshConfig mesh;
    private final NodeConfig from;
    private final boolean dryRun;
    private final PrintWriter out;

    public Repair(MeshConfig mesh, NodeConfig from, boolean dryRun, PrintWriter out) {
        this.mesh = mesh;
        this.from = from;
        this.dryRun = dryRun;
        this.out = out;
    }

    public Outcome run(ValidationReport report) throws SQLException, ValidationException {
        int inserted = 0;
        int updated = 0;
        int deleted = 0;
        Map<NodeConfig, Connection> targets = new LinkedHashMap<>();
        try (Connection truth = open(from)) {
            for (NodeConfig n : mesh.nodes()) {
                if (!n.equals(from)) {
                    targets.put(n, open(n));
                }
            }
            if (!dryRun) {
                for (var e : targets.entrySet()) {
                    checkIdle(e.getKey(), e.getValue());
                }
            }
            for (TableReport t : report.tables()) {
                if (t.verdict() != TableReport.Verdict.DIFFERENT) {
                    continue;
                }
                TableReport.RepairKeys keys = t.repairKeys();
                if (keys == null) {
                    out.println("skipped " + t.table() + ": it has no key every node shares, so its rows cannot be"
                            + " matched one by one; repair it by hand");
                    continue;
                }
                if (t.uncheckedKeys() > 0) {
                    out.println(t.table() + ": " + t.uncheckedKeys() + " more keys differed than validate re-checks"
                            + " at once; run validate --repair again after this one");
                }
                TableName table = keys.table();
                for (List<String> key : keys.values()) {
                    Version version = read(truth, table, keys.columns(), key);
                    for (var e : targets.entrySet()) {
                        Version there = read(e.getValue(), table, keys.columns(), key);
                        String change = version.json() == null ? there.json() == null ? null : "delete"
                                : there.json() == null ? "insert" : version.json().equals(there.json()) ? null : "update";
                        if (change == null) {
                            continue;
                        }
                        out.println((dryRun ? "would " : "") + change + " " + t.table() + " "
                                + KeyDifference.keyed(keys.columns(), key) + " on " + e.getKey().name()
                                + " (as on " + from.name() + ")");
                        if (!dryRun) {
                            useOrigin(e.getValue(), writerOrigin(version, e.getKey()));
                            write(e.getValue(), table, keys.columns(), key, change, version);
                        }
                        switch (change) {
                            case "insert" -> inserted++;
                            case "update" -> updated++;
                            default -> deleted++;
                        }
                    }
                }
            }
        } finally {
            for (Connection c : targets.values()) {
                c.close();
            }
        }
        return new Outcome(inserted, updated, deleted);
    }

    /** The origin a session has set up, per target connection. */
    private final Map<Connection, String> sessionOrigins = new java.util.HashMap<>();

    /**
     * The origin the repaired version is written under: the one of the node that wrote the row on
     * the truth (its own origin when the truth wrote it), so every node holds the same version of
     * it. A row the target itself wrote, or a delete, is written under the truth's origin.
     */
    private String writerOrigin(Version version, NodeConfig target) {
        String writer = version.writerOrigin() == null ? from.name() : Names.nodeOfOrigin(version.writerOrigin());
        boolean meshNode = mesh.nodes().stream().anyMatch(n -> n.name().equals(writer));
        return Names.origin(version.json() == null || !meshNode || writer.equals(target.name()) ? from.name() : writer);
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

    private static Connection open(NodeConfig node) throws SQLException {
        Connection conn = PgConnector.connect(node, "repair");
        Sql.exec(conn, NodeReader.SESSION_SETTINGS);
        return conn;
    }

    /**
     * The repair writes as the tasks would: under the origin of the row's writer (so nothing
     * echoes) and as a replica session (so the target's own triggers do not fire twice). An origin
     * serves one session, so no task may be applying to the target meanwhile.
     */
    private void checkIdle(NodeConfig node, Connection conn) throws SQLException, ValidationException {
        for (String origin : Sql.queryColumn(conn, "SELECT roname FROM pg_replication_origin WHERE roname LIKE"
                + " 'pgmesh\\_%' ORDER BY 1")) {
            try {
                Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", origin);
                Sql.queryString(conn, "SELECT pg_replication_origin_session_reset()");
            } catch (SQLException e) {
                if (SqlStates.OBJECT_IN_USE.equals(e.getSQLState())) {
                    throw new ValidationException("repair: pgmesh run is applying to " + node.name() + " (origin "
                            + origin + " is in use): stop pgmesh run, repair, then start it again; nothing was changed",
                            e);
                }
                throw e;
            }
        }
        Sql.exec(conn, "SET session_replication_role = replica");
    }

    /** A row as JSON with its commit time and writer's origin (null: the node's own), or no row (all null). */
    private record Version(String json, String commitTime, String writerOrigin) {
    }

    private static Version read(Connection conn, TableName table, List<String> keyColumns, List<String> key)
            throws SQLException {
        String[] row = KeyMatch.rowJson(conn, table, keyColumns, key);
        return new Version(row[0], row[1], row[2]);
    }

    /** One key in one transaction, stamped with the commit time of the truth's version. */
    private static void write(Connection conn, TableName table, List<String> keyColumns, List<String> key,
                              String change, Version version) throws SQLException {
        List<String> columns = Sql.queryColumn(conn, "SELECT quote_ident(attname) FROM pg_attribute"
                + " WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''"
                + " ORDER BY attnum", table.quoted());
        String list = String.join(", ", columns);
        String row = "(SELECT " + list + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json))";
        String sql = switch (change) {
            case "insert" -> "INSERT INTO " + table.quoted() + " (" + list + ") OVERRIDING SYSTEM VALUE SELECT " + list
                    + " FROM json_populate_record(NULL::" + table.quoted() + ", ?::json)";
            case "update" -> "UPDATE " + table.quoted() + " t SET (" + list + ") = " + row + " WHERE "
                    + KeyMatch.condition(conn, table, "t", keyColumns);
            default -> "DELETE FROM " + table.quoted() + " t WHERE " + KeyMatch.condition(conn, table, "t", keyColumns);
        };
        conn.setAutoCommit(false);
        try {
            String at = Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(false)::text")
                    .orElse("0/0");
            Sql.queryString(conn, "SELECT pg_replication_origin_xact_setup(?::pg_lsn, COALESCE(?::timestamptz, now()))",
                    at, version.commitTime());
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
}
