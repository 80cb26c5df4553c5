package io.pgmesh.setup;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code pgmesh remove-node}: takes a node out of a running mesh without losing what it wrote.
 * It waits until every other node has applied everything the leaving node had written, marks the
 * node removed on every node (so that a {@code run} still started with the old file stops its
 * tasks instead of recreating their slots), ends the sessions of those tasks, then drops the
 * slots and origins that served them. Rows stay everywhere.
 */
public final class NodeRemoval {
    private final MeshConfig config;
    private final NodeConfig leaving;
    private final Duration timeout;
    private final boolean force;
    private final PrintWriter out;

    public NodeRemoval(MeshConfig config, NodeConfig leaving, Duration timeout, boolean force, PrintWriter out) {
        this.config = config;
        this.leaving = leaving;
        this.timeout = timeout;
        this.force = force;
        this.out = out;
    }

    /** True when the node is out; false when it refused (and then nothing was changed). */
    public boolean run() throws SQLException, InterruptedException {
        List<NodeConfig> staying = config.nodes().stream().filter(n -> !n.equals(leaving)).toList();
        if (staying.size() < 2) {
            say("refused: without " + leaving.name() + " the mesh would be " + staying.get(0).name()
                    + " alone, with nothing to replicate to; to stop replicating, use pgmesh teardown. Nothing was changed");
            return false;
        }
        Map<NodeConfig, Connection> conns = new LinkedHashMap<>();
        Connection leavingConn = null;
        try {
            for (NodeConfig n : staying) {
                try {
                    conns.put(n, PgConnector.connect(n, "remove-node"));
                } catch (SQLException e) {
                    say("refused: cannot connect to " + PgConnector.describe(n) + " (" + Errors.describe(e)
                            + "); remove-node changes nothing until every node that stays is reachable");
                    return false;
                }
            }
            try {
                leavingConn = PgConnector.connect(leaving, "remove-node");
            } catch (SQLException e) {
                if (!force) {
                    say("refused: cannot connect to " + PgConnector.describe(leaving) + " (" + Errors.describe(e)
                            + "), so what it wrote and has not sent cannot be waited for; --force removes it anyway"
                            + " (those changes are then lost to the other nodes). Nothing was changed");
                    return false;
                }
                say(leaving.name() + " is unreachable: removing it without waiting (--force); what it had not sent is lost");
            }
            if (leavingConn != null && !drained(leavingConn, conns)) {
                return false;
            }
            for (var e : conns.entrySet()) {
                markRemoved(e.getValue());
            }
            if (leavingConn != null && ControlSchema.exists(leavingConn)) {
                markRemoved(leavingConn);
            }
            for (var e : conns.entrySet()) {
                removeFrom(e.getKey(), e.getValue(), List.of(Names.slot(e.getKey().name(), leaving.name())),
                        List.of(Names.origin(leaving.name())), List.of(leaving.name()));
            }
            if (leavingConn != null) {
                removeFrom(leaving, leavingConn, staying.stream().map(n -> Names.slot(leaving.name(), n.name())).toList(),
                        staying.stream().map(n -> Names.origin(n.name())).toList(),
                        staying.stream().map(NodeConfig::name).toList());
            }
            say(leaving.name() + " is out of the mesh; its rows stay on every node. Next: delete its entry from the"
                    + " nodes of the mesh file and send pgmesh run SIGHUP (or restart it); until then run reports"
                    + " its tasks as failed (removed). To remove pgmesh's objects from " + leaving.name()
                    + " too, run pgmesh teardown with a mesh file that names only it");
            return true;
        } finally {
            for (Connection c : conns.values()) {
                c.close();
            }
            if (leavingConn != null) {
                leavingConn.close();
            }
        }
    }

    /**
     * Waits until every staying node has confirmed, over its slot on the leaving node, everything
     * the leaving node had written when the wait began: those changes are applied there.
     */
    private boolean drained(Connection leavingConn, Map<NodeConfig, Connection> conns)
            throws SQLException, InterruptedException {
        say("waiting until every node has applied what " + leaving.name() + " wrote (at most " + timeout.toSeconds()
                + " s)");
        List<String> behind = Drain.await(leavingConn, leaving.name(),
                conns.keySet().stream().map(NodeConfig::name).toList(), timeout);
        if (!behind.isEmpty()) {
            say("refused: after " + timeout.toSeconds() + " s these tasks have still not applied everything "
                    + leaving.name() + " wrote: " + String.join(", ", behind) + "; is pgmesh run running for the"
                    + " mesh? Start it (or wait longer with --timeout), then run remove-node again. Nothing was changed");
            return false;
        }
        return true;
    }

    private void markRemoved(Connection conn) throws SQLException {
        ControlSchema.ensure(conn);
        Sql.queryString(conn, "INSERT INTO pgmesh.removed_nodes (node) VALUES (?) ON CONFLICT DO NOTHING RETURNING 1",
                leaving.name());
    }

    /**
     * Ends the sessions of the tasks that used these slots and origins (a run that still has the
     * old file then finds the node removed and does not start them again), and drops them.
     */
    private void removeFrom(NodeConfig node, Connection conn, List<String> slots, List<String> origins,
                            List<String> sources) throws SQLException, InterruptedException {
        List<String> applyNames = new ArrayList<>();
        for (String source : sources) {
            applyNames.add("pgmesh apply " + (node.equals(leaving) ? source + "->" + leaving.name()
                    : leaving.name() + "->" + node.name()));
        }
        List<String> removed = TaskCut.endAndDrop(conn, slots, origins, applyNames);
        if (ControlSchema.exists(conn)) {
            for (String source : sources) {
                Sql.queryString(conn, "DELETE FROM pgmesh.task_progress WHERE source_node = ? RETURNING 1", source);
                Sql.queryString(conn, "DELETE FROM pgmesh.seen_history WHERE source_node = ? RETURNING 1", source);
                Sql.queryString(conn, "DELETE FROM pgmesh.task_state WHERE source_node = ? RETURNING 1", source);
                if (Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_lease') IS NOT NULL")) {
                    Sql.queryString(conn, "DELETE FROM pgmesh.task_lease WHERE source_node = ? RETURNING 1", source);
                }
            }
            for (String slot : slots) {
                Sql.queryString(conn, "DELETE FROM pgmesh.slot_start WHERE slot_name = ? RETURNING 1", slot);
            }
        }
        say(node.name() + ": removed " + (removed.isEmpty() ? "nothing (none left)" : String.join(", ", removed)));
    }

    private void say(String line) {
        out.println(line);
        out.flush();
    }
}
