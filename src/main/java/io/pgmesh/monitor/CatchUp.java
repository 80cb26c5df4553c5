package io.pgmesh.monitor;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.setup.MeshState;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * Waits until every task of a mesh has caught up with its source as of the call: the target's
 * origin has applied up to the source's current LSN, or the slot has confirmed it (when the
 * newest WAL holds nothing for the target). Synchronises on LSNs, so callers need no sleeps.
 */
public final class CatchUp {
    private CatchUp() {
    }

    public static void await(MeshConfig config, Duration timeout) throws SQLException, TimeoutException, InterruptedException {
        Map<String, Connection> conns = new HashMap<>();
        try {
            Map<String, Lsn> marks = new HashMap<>();
            for (NodeConfig n : config.nodes()) {
                Connection c = PgConnector.connect(n, "catch-up");
                conns.put(n.name(), c);
                marks.put(n.name(), Lsn.parse(Sql.queryString(c, "SELECT pg_current_wal_lsn()").orElseThrow()));
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            for (TaskSpec t : Topology.mesh(config)) {
                Lsn mark = marks.get(t.source().name());
                while (!reached(conns.get(t.source().name()), conns.get(t.target().name()), t, mark)) {
                    if (System.nanoTime() > deadline) {
                        throw new TimeoutException("task " + t + " did not reach " + mark + " within " + timeout.toSeconds() + " s");
                    }
                    Thread.sleep(20);
                }
            }
        } finally {
            for (Connection c : conns.values()) {
                c.close();
            }
        }
    }

    private static boolean reached(Connection source, Connection target, TaskSpec t, Lsn mark) throws SQLException {
        Lsn progress = MeshState.originProgress(target, t.originName());
        if (progress.compareTo(mark) >= 0) {
            return true;
        }
        Lsn confirmed = Sql.queryString(source, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?",
                t.slotName()).map(Lsn::parse).orElse(Lsn.ZERO);
        return confirmed.compareTo(mark) >= 0;
    }
}
