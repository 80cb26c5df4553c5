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
import java.util.regex.Pattern;

/**
 * {@code pgmesh ddl}: one schema change on every node at once.
 *
 * <ol>
 * <li>In node order, each node opens a transaction and takes pgmesh's advisory lock (within the
 *     deadline): two {@code pgmesh ddl} never interleave.</li>
 * <li>Every stream delivers what its source wrote before that lock (the slot's confirmed position
 *     passes it).</li>
 * <li>The statement runs on every node; all commit or all roll back. With
 *     {@code max_prepared_transactions} above 0 everywhere the commit is two-phase.</li>
 * </ol>
 * Writers wait only on the locks the statement takes, from its run on a node to the last commit.
 * Rows a node's applications write between the wait and the statement's lock there still arrive
 * at the others after their change: PostgreSQL offers no way to hold the applications' writers
 * back without also holding back the apply sessions that must deliver those rows, short of making
 * them fail. The sessions set {@code pgmesh.ddl_capture = off}, so the change is not also
 * replicated.
 */
public final class MeshDdl {
    /** The advisory lock key: "pgmesh d" as a number, fixed so every process agrees. */
    private static final long LOCK_KEY = 0x70676d6573682064L;
    private static final Pattern TRANSACTION_CONTROL = Pattern.compile(
            "(^|;)\\s*(BEGIN|START\\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE\\s+TRANSACTION)\\b",
            Pattern.CASE_INSENSITIVE);

    private static final Pattern QUOTED = Pattern.compile("\\$(\\w*)\\$.*?\\$\\1\\$|'(?:[^']|'')*'|--[^\\n]*",
            Pattern.DOTALL);

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

    /** Refused before anything is touched: what cannot run as one transaction per node. */
    public static java.util.Optional<String> refusal(String sql) {
        if (DdlMessage.isOutsideTransaction(sql)) {
            return java.util.Optional.of("a statement that cannot run inside a transaction (CONCURRENTLY) cannot go"
                    + " through pgmesh ddl: run it on one node, and it is replicated to the others by itself");
        }
        // Quoted text and function bodies may hold these words: they are not statements.
        String bare = QUOTED.matcher(sql).replaceAll(" ");
        if (TRANSACTION_CONTROL.matcher(bare).find()) {
            return java.util.Optional.of("the change must not control transactions itself (BEGIN, COMMIT, SAVEPOINT ...):"
                    + " pgmesh ddl runs it in one transaction per node, and commits all of them or none");
        }
        return java.util.Optional.empty();
    }

    public void run(String sql) throws DdlException, SQLException, InterruptedException {
        java.util.Optional<String> refused = refusal(sql);
        if (refused.isPresent()) {
            throw new DdlException(refused.get());
        }
        Map<NodeConfig, Connection> conns = new LinkedHashMap<>();
        try {
            for (NodeConfig n : mesh.nodes()) {
                conns.put(n, connect(n));
            }
            boolean twoPhase = true;
            Map<NodeConfig, Lsn> locked = new LinkedHashMap<>();
            long deadline = System.nanoTime() + catchUp.toNanos();
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                Connection c = e.getValue();
                twoPhase &= Sql.queryInt(c, "SELECT setting::int FROM pg_settings WHERE name = 'max_prepared_transactions'") > 0;
                c.setAutoCommit(false);
                lock(conns, e.getKey(), c, deadline);
                locked.put(e.getKey(), Lsn.parse(Sql.queryString(c, "SELECT pg_current_wal_lsn()::text").orElseThrow()));
            }
            out.println("locked the mesh on " + conns.size() + " nodes; waiting for every node to have"
                    + " the others' changes made before the lock");
            awaitDelivered(conns, locked, deadline);
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                try {
                    Sql.exec(e.getValue(), sql);
                } catch (SQLException ex) {
                    rollbackAll(conns);
                    throw new DdlException("the change failed on " + e.getKey().name() + ": " + Errors.describe(ex)
                            + "; it was rolled back on every node, and nothing changed");
                }
            }
            commitAll(conns, twoPhase);
        } finally {
            rollbackAll(conns);
            for (Connection c : conns.values()) {
                Sql.closeQuietly(c);
            }
        }
    }

    private Connection connect(NodeConfig n) throws DdlException {
        try {
            Connection c = PgConnector.connect(n, "ddl");
            // The change waits for table locks: never longer than the whole may take.
            Sql.exec(c, "SET lock_timeout = '" + catchUp.toMillis() + "ms'");
            return c;
        } catch (SQLException e) {
            throw new DdlException("cannot connect to " + PgConnector.describe(n) + ": " + Errors.describe(e)
                    + "; pgmesh ddl needs every node, and changed nothing");
        }
    }

    /** The lock, within the deadline: another pgmesh ddl may hold it. */
    private void lock(Map<NodeConfig, Connection> conns, NodeConfig node, Connection c, long deadline)
            throws SQLException, DdlException, InterruptedException {
        while (!Sql.queryBool(c, "SELECT pg_try_advisory_xact_lock(?)", LOCK_KEY)) {
            if (System.nanoTime() > deadline) {
                rollbackAll(conns);
                throw new DdlException("could not lock " + node.name() + " within " + catchUp.toSeconds() + " s: another"
                        + " pgmesh ddl runs there; nothing changed");
            }
            Thread.sleep(50);
        }
    }

    /** Each source's changes before its lock are confirmed by every slot that streams them. */
    private void awaitDelivered(Map<NodeConfig, Connection> conns, Map<NodeConfig, Lsn> locked, long deadline)
            throws DdlException, SQLException, InterruptedException {
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
            List<NodeConfig> prepared = new ArrayList<>();
            for (Map.Entry<NodeConfig, Connection> e : conns.entrySet()) {
                try {
                    Sql.exec(e.getValue(), "PREPARE TRANSACTION '" + gid + "'");
                    e.getValue().setAutoCommit(true);
                    prepared.add(e.getKey());
                } catch (SQLException ex) {
                    rollbackAll(conns);
                    // This node too: its answer may have been lost after it prepared.
                    prepared.add(e.getKey());
                    List<String> left = rollBackPrepared(prepared, gid);
                    throw new DdlException("the change could not be prepared on " + e.getKey().name() + ": "
                            + Errors.describe(ex) + "; it was rolled back on every node, and nothing changed"
                            + (left.isEmpty() ? "" : "; but the prepared transaction " + gid + " could not be removed on "
                            + String.join(", ", left) + ": ROLLBACK PREPARED '" + gid + "' there"));
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
                        ? "; it is prepared there and on the nodes after it as " + gid + ": COMMIT PREPARED '" + gid
                        + "' on each of them finishes it (pg_prepared_xacts lists it)"
                        : "; run the change on " + e.getKey().name() + " and the nodes after it yourself,"
                        + " with SET pgmesh.ddl_capture = off"));
            }
        }
        out.println("applied on " + String.join(", ", done) + (twoPhase ? " (two-phase commit)" : ""));
    }

    /** Rolls back {@code gid} where it was prepared, each through a session of its own; returns the nodes where that failed. */
    private List<String> rollBackPrepared(List<NodeConfig> nodes, String gid) {
        List<String> left = new ArrayList<>();
        for (NodeConfig n : nodes) {
            try (Connection c = PgConnector.connect(n, "ddl cleanup")) {
                if (Sql.queryBool(c, "SELECT EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE gid = ?)", gid)) {
                    Sql.exec(c, "ROLLBACK PREPARED '" + gid + "'");
                }
            } catch (SQLException e) {
                left.add(n.name());
            }
        }
        return left;
    }

    private static void rollbackAll(Map<NodeConfig, Connection> conns) {
        for (Connection c : conns.values()) {
            try {
                if (!c.getAutoCommit()) {
                    c.rollback();
                    c.setAutoCommit(true);
                }
            } catch (SQLException ignored) {
                // a lost session rolls back by itself (a prepared transaction is looked for by gid)
            }
        }
    }
}
