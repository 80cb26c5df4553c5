package io.pgmesh.ddl;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Lsn;
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
import java.util.UUID;

/**
 * {@code pgmesh ddl}: one schema change on every node at once, for changes that must not be
 * seen half-made (a rename, a type change, anything rows written meanwhile would not fit).
 *
 * <p>In node order, each node opens a transaction and takes the mesh's advisory lock, so two
 * {@code pgmesh ddl} never interleave; then every stream must have delivered what its source
 * wrote before that lock (the slot's confirmed position passes it); then the statement runs on
 * every node, and all commit or all roll back. With {@code max_prepared_transactions} above 0
 * on every node, the commits are two-phase: a node lost between them keeps its prepared
 * transaction, and nothing is half-done. Writers wait only on the locks the statement itself
 * takes, from its run on a node to the last commit. Its sessions set {@code pgmesh.ddl_capture =
 * off}, so the change is not also replicated.
 */
public final class MeshDdl {
    /** The advisory lock key: "pgmesh d" as a number, fixed so every process agrees. */
    private static final long LOCK_KEY = 0x70676d6573682064L;

    /** Why {@code pgmesh ddl} changed nothing, or left a node to finish by hand. */
    public static final class DdlException extends Exception {
        public DdlException(String message) {
            super(message);
        }
    }

    private final MeshConfig mesh;
    private final Duration catchUp;
    private final PrintWriter out;

    public MeshDdl(MeshConfig mesh, Duration catchUp, PrintWriter out) {
        this.mesh = mesh;
        this.catchUp = catchUp;
        this.out = out;
    }

    public void run(String sql) throws DdlException, SQLException, InterruptedException {
        if (DdlMessage.isOutsideTransaction(sql)) {
            throw new DdlException("a statement that cannot run inside a transaction (CONCURRENTLY) cannot go through"
                    + " pgmesh ddl: run it on one node, and it is replicated to the others by itself");
        }
        Map<NodeConfig, Connection> conns = new LinkedHashMap<>();
        try {
            for (NodeConfig n : mesh.nodes()) {
                conns.put(n, connect(n));
            }
            boolean twoPhase = true;
            Map<NodeConfig, Lsn> locked = new LinkedHashMap<>();
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                Connection c = e.getValue();
                twoPhase &= Sql.queryInt(c, "SELECT setting::int FROM pg_settings WHERE name = 'max_prepared_transactions'") > 0;
                c.setAutoCommit(false);
                Sql.queryString(c, "SELECT pg_advisory_xact_lock(?)", LOCK_KEY);
                locked.put(e.getKey(), Lsn.parse(Sql.queryString(c, "SELECT pg_current_wal_lsn()::text").orElseThrow()));
            }
            out.println("locked the mesh on " + conns.size() + " nodes; waiting for every node to have the others'"
                    + " changes made before the lock");
            awaitDelivered(conns, locked);
            String failedOn = null;
            SQLException failure = null;
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                try {
                    Sql.exec(e.getValue(), sql);
                } catch (SQLException ex) {
                    failedOn = e.getKey().name();
                    failure = ex;
                    break;
                }
            }
            if (failure != null) {
                rollbackAll(conns);
                throw new DdlException("the change failed on " + failedOn + ": " + Errors.describe(failure)
                        + "; it was rolled back on every node, and nothing changed");
            }
            commitAll(conns, twoPhase);
        } finally {
            for (Connection c : conns.values()) {
                Sql.closeQuietly(c);
            }
        }
    }

    private static Connection connect(NodeConfig n) throws DdlException {
        try {
            return PgConnector.connect(n, "ddl");
        } catch (SQLException e) {
            throw new DdlException("cannot connect to " + PgConnector.describe(n) + ": " + Errors.describe(e)
                    + "; pgmesh ddl needs every node, and changed nothing");
        }
    }

    /** Each source's changes before its lock are confirmed by every slot that streams them. */
    private void awaitDelivered(Map<NodeConfig, Connection> conns, Map<NodeConfig, Lsn> locked)
            throws DdlException, SQLException, InterruptedException {
        long deadline = System.nanoTime() + catchUp.toNanos();
        for (NodeConfig source : conns.keySet()) {
            for (NodeConfig target : conns.keySet()) {
                if (source.equals(target)) {
                    continue;
                }
                String slot = Names.slot(source.name(), target.name());
                // Read outside the locking transaction: its snapshot would not see the slot move.
                while (true) {
                    Lsn confirmed;
                    try (Connection probe = PgConnector.connect(source, "ddl wait")) {
                        confirmed = Sql.queryString(probe, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots"
                                + " WHERE slot_name = ?", slot).map(Lsn::parse).orElse(null);
                    }
                    if (confirmed == null) {
                        rollbackAll(conns);
                        throw new DdlException("no slot " + slot + " on " + source.name() + ": the mesh is not set up"
                                + " (pgmesh init); nothing changed");
                    }
                    if (confirmed.compareTo(locked.get(source)) >= 0) {
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        rollbackAll(conns);
                        throw new DdlException("the task " + source.name() + "->" + target.name() + " has not applied "
                                + source.name() + "'s changes made before the lock within " + catchUp.toSeconds()
                                + " s (is pgmesh run running? pgmesh status shows the task); nothing changed");
                    }
                    Thread.sleep(100);
                }
            }
        }
    }

    private void commitAll(Map<NodeConfig, Connection> conns, boolean twoPhase) throws DdlException {
        String gid = "pgmesh_ddl_" + UUID.randomUUID();
        List<String> done = new ArrayList<>();
        if (twoPhase) {
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                try {
                    Sql.exec(e.getValue(), "PREPARE TRANSACTION '" + gid + "'");
                    e.getValue().setAutoCommit(true);
                } catch (SQLException ex) {
                    for (Map.Entry<NodeConfig, Connection> p : conns.entrySet()) {
                        if (p.getKey().equals(e.getKey())) {
                            break;
                        }
                        finishPrepared(p.getValue(), "ROLLBACK PREPARED '" + gid + "'");
                    }
                    rollbackAll(conns);
                    throw new DdlException("the change could not be prepared on " + e.getKey().name() + ": "
                            + Errors.describe(ex) + "; it was rolled back on every node, and nothing changed");
                }
            }
        }
        for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
            try {
                Sql.exec(e.getValue(), twoPhase ? "COMMIT PREPARED '" + gid + "'" : "COMMIT");
                done.add(e.getKey().name());
            } catch (SQLException ex) {
                throw new DdlException("committed on " + (done.isEmpty() ? "no node" : String.join(", ", done))
                        + " but not on " + e.getKey().name() + ": " + Errors.describe(ex) + (twoPhase
                        ? "; it is prepared there as " + gid + ": COMMIT PREPARED '" + gid + "' on " + e.getKey().name()
                        + " (and on the nodes after it) finishes it"
                        : "; run the change on " + e.getKey().name() + " and the nodes after it yourself,"
                        + " with SET pgmesh.ddl_capture = off"));
            }
        }
        out.println("applied on " + String.join(", ", done) + (twoPhase ? " (two-phase commit)" : ""));
    }

    private static void finishPrepared(Connection c, String sql) {
        try {
            c.setAutoCommit(true);
            Sql.exec(c, sql);
        } catch (SQLException ignored) {
            // rolled back by the server when the session ends, or left for a person with the gid
        }
    }

    private static void rollbackAll(Map<NodeConfig, Connection> conns) {
        for (Connection c : conns.values()) {
            try {
                if (!c.getAutoCommit()) {
                    c.rollback();
                }
            } catch (SQLException ignored) {
                // a lost session rolls back by itself
            }
        }
    }
}
