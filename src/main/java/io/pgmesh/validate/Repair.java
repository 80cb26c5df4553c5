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
    private final KeyWriter writer;

    public Repair(MeshConfig mesh, NodeConfig from, boolean dryRun, PrintWriter out) {
        this.mesh = mesh;
        this.from = from;
        this.dryRun = dryRun;
        this.out = out;
        this.writer = new KeyWriter(mesh.nodes().stream().map(NodeConfig::name).collect(java.util.stream.Collectors.toSet()),
                from.name());
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
                    KeyWriter.Version version = KeyWriter.Version.read(truth, table, keys.columns(), key);
                    for (var e : targets.entrySet()) {
                        KeyWriter.Version there = KeyWriter.Version.read(e.getValue(), table, keys.columns(), key);
                        String change = KeyWriter.change(version, there);
                        if (change == null) {
                            continue;
                        }
                        out.println((dryRun ? "would " : "") + change + " " + t.table() + " "
                                + KeyDifference.keyed(keys.columns(), key) + " on " + e.getKey().name()
                                + " (as on " + from.name() + ")");
                        if (!dryRun) {
                            writer.write(e.getValue(), e.getKey().name(), table, keys.columns(), key, version, null,
                                    true);
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
        KeyWriter.prepare(conn);
    }
}
