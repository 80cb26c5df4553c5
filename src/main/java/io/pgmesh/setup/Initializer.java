package io.pgmesh.setup;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.capture.SlotLostException;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.load.InitialLoad;
import io.pgmesh.load.LoadException;
import io.pgmesh.load.LoadProgress;
import io.pgmesh.load.PeerHandoff;
import io.pgmesh.ids.SequencePartitioner;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.io.PrintWriter;
import java.sql.Array;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code init} after its check passed: control schema and publication on every node, the planned
 * initial loads, then every task's origin and slot. Idempotent: on a mesh that is set up it
 * changes nothing and says so.
 */
public final class Initializer {
    private final MeshConfig config;
    private final int jobs;
    private final long sliceBytes;
    private final PrintWriter out;
    private final boolean terminal;
    private int changes;
    /** The node whose tables are repaired by key rather than emptied and reloaded, or null. */
    private NodeConfig repairTarget;
    private InitialLoad.KeyRepair repair;

    /** Default size of the slices big tables are cut into for parallel copying. */
    public static final long SLICE_BYTES = 64L << 20;

    public Initializer(MeshConfig config, int jobs, PrintWriter out, boolean terminal) {
        this(config, jobs, SLICE_BYTES, out, terminal);
    }

    public Initializer(MeshConfig config, int jobs, long sliceBytes, PrintWriter out, boolean terminal) {
        this.config = config;
        this.jobs = jobs;
        this.sliceBytes = sliceBytes;
        this.out = out;
        this.terminal = terminal;
    }

    /**
     * The load into {@code target} keeps the rows it already has and repairs them by key (resync's
     * repair mode); an interrupted load into it is not emptied first.
     */
    public Initializer repairing(NodeConfig target, InitialLoad.KeyRepair repair) {
        this.repairTarget = target;
        this.repair = repair;
        return this;
    }

    /** True when the mesh is set up; false when init refused (and then nothing was changed). */
    public boolean run() throws SQLException, LoadException, InterruptedException, SlotLostException {
        Map<String, Connection> conns = new LinkedHashMap<>();
        try {
            for (NodeConfig n : config.nodes()) {
                conns.put(n.name(), connect(n));
            }
            InitPlan plan = InitPlan.of(config, conns);
            plan.notes().forEach(n -> say(n));
            if (plan.refused()) {
                plan.refusals().forEach(r -> say("refused: " + r));
                say("init stopped: nothing was changed on any node");
                return false;
            }
            for (NodeConfig n : config.nodes()) {
                prepare(n, conns.get(n.name()));
            }
            NodeConfig source = config.initialLoadSource().orElse(null);
            java.util.Set<String> removed = InitPlan.removedNodes(conns);
            for (NodeConfig target : plan.loads()) {
                if (removed.contains(target.name())) {
                    forget(target, conns.get(target.name()));
                    // It comes back as a new node: the marks that held its tasks go.
                    for (Connection c : conns.values()) {
                        Sql.queryString(c, "DELETE FROM pgmesh.removed_nodes WHERE node = ? RETURNING 1", target.name());
                    }
                }
            }
            for (NodeConfig target : config.nodes()) {
                if (plan.loads().contains(target) || plan.reloads().contains(target)) {
                    // First, so that nothing a reload empties is captured and sent anywhere.
                    dropOwnSlots(target, conns.get(target.name()));
                }
            }
            for (NodeConfig target : plan.reloads()) {
                removeInterruptedLoad(source, target, conns);
            }
            for (NodeConfig target : config.nodes()) {
                if (plan.loads().contains(target) || plan.reloads().contains(target)) {
                    load(source, target, plan.peersOf(target), conns);
                }
            }
            createOriginsAndSlots(conns);
            if (!plan.loads().isEmpty() || !plan.reloads().isEmpty()) {
                giveLoadedNodesTheirSlices(source, conns.get(source.name()));
            }
            if (changes == 0) {
                say("the mesh is already set up: nothing changed");
            } else {
                say("init done; start replication with: pgmesh run -c <mesh file>");
            }
            return true;
        } finally {
            for (Connection c : conns.values()) {
                c.close();
            }
        }
    }

    private Connection connect(NodeConfig n) throws SQLException {
        try {
            return PgConnector.connect(n, "init");
        } catch (SQLException e) {
            throw new SQLException("cannot connect to " + PgConnector.describe(n) + ": " + e.getMessage(), e.getSQLState(), e);
        }
    }

    private void prepare(NodeConfig node, Connection conn) throws SQLException {
        if (ControlSchema.ensure(conn)) {
            changes++;
            say(node.name() + ": created schema pgmesh");
        }
        Set<TableName> before = PublicationManager.published(conn);
        boolean existed = Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ?)",
                Names.PUBLICATION);
        PublicationManager.Result result = PublicationManager.reconcile(conn, config.tables());
        if (!existed) {
            changes++;
        }
        if ((!existed || !before.equals(result.published())) && !result.published().isEmpty()) {
            changes++;
            say(node.name() + ": publication pgmesh has " + result.published().size() + " table(s)");
        }
        for (TableName t : result.withoutReplicaIdentity()) {
            say(node.name() + ": " + t + " is left out: it has no primary key or replica identity");
        }
        boolean captured = DdlCapture.installed(conn);
        Optional<String> refused = DdlCapture.install(conn, config.tables(), config.replicateDdl());
        if (refused.isPresent()) {
            say(node.name() + ": schema changes made on " + node.name() + " are not replicated: " + refused.get()
                    + "; run init once as a superuser, or make schema changes with pgmesh ddl");
        } else if (!captured) {
            changes++;
            say(node.name() + ": installed the DDL event triggers (ddl.replicate: " + config.replicateDdl() + ")");
        }
    }

    /**
     * A node that remove-node took out (unreachable at the time, perhaps) may still hold its slots,
     * origins and progress from before: none of it is true any more, and a load starts from none.
     */
    private void forget(NodeConfig node, Connection conn) throws SQLException {
        for (String slot : Sql.queryColumn(conn, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE"
                + " 'pgmesh\\_%' AND database = current_database() AND NOT active")) {
            Sql.queryString(conn, "SELECT pg_drop_replication_slot(?)", slot);
        }
        for (NodeConfig other : config.nodes()) {
            if (!other.equals(node) && MeshState.originExists(conn, Names.origin(other.name()))) {
                Sql.queryString(conn, "SELECT pg_replication_origin_drop(?)", Names.origin(other.name()));
            }
        }
        Sql.exec(conn, "DELETE FROM pgmesh.task_progress; DELETE FROM pgmesh.initial_load; DELETE FROM pgmesh.seen_history;"
                + " DELETE FROM pgmesh.slot_start; DELETE FROM pgmesh.task_state; DELETE FROM pgmesh.task_lease");
        changes++;
        say(node.name() + ": forgot what it knew of the mesh before it was removed (slots, origins, progress)");
    }

    /** An earlier init stopped half way through this load: what it created and copied goes, then it starts over. */
    private void removeInterruptedLoad(NodeConfig source, NodeConfig target, Map<String, Connection> conns)
            throws SQLException {
        Connection src = conns.get(source.name());
        Connection tgt = conns.get(target.name());
        String slot = Names.slot(source.name(), target.name());
        if (MeshState.slotExists(src, slot)) {
            Sql.queryString(src, "SELECT pg_drop_replication_slot(?)", slot);
        }
        List<String> created = textArray(tgt, "created_tables", source.name());
        List<String> loaded = textArray(tgt, "loaded_tables", source.name());
        // Under the seed's origin: what the load had copied came from there, and a slot of this node
        // that some other tool reads sees the emptying as the seed's, never as a change to send.
        String origin = Names.origin(source.name());
        if (Sql.queryString(tgt, "SELECT pg_replication_origin_oid(?)", origin).isEmpty()) {
            Sql.queryString(tgt, "SELECT pg_replication_origin_create(?)", origin);
        }
        Sql.queryString(tgt, "SELECT pg_replication_origin_session_setup(?)", origin);
        try {
            for (String t : created) {
                Sql.exec(tgt, "DROP TABLE IF EXISTS " + t + " CASCADE");
            }
            List<String> emptied = new java.util.ArrayList<>();
            for (String t : target.equals(repairTarget) ? List.<String>of() : loaded) {
                if (!created.contains(t) && Sql.queryBool(tgt, "SELECT to_regclass(?) IS NOT NULL", t)) {
                    emptied.add(t);
                }
            }
            if (!emptied.isEmpty()) {
                // All in one statement: tables that reference each other can only be emptied together.
                Sql.exec(tgt, "TRUNCATE " + String.join(", ", emptied));
            }
        } finally {
            Sql.queryString(tgt, "SELECT pg_replication_origin_session_reset()");
        }
        changes++;
        say(target.name() + ": removed the interrupted initial load from " + source.name() + " (dropped "
                + created.size() + " table(s) it had created, " + (target.equals(repairTarget)
                ? "kept the others for the repair)" : "emptied the others it had loaded into)"));
    }

    private static List<String> textArray(Connection conn, String column, String source) throws SQLException {
        try (var ps = conn.prepareStatement("SELECT " + column + " FROM pgmesh.initial_load WHERE source_node = ?")) {
            ps.setString(1, source);
            try (var rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return List.of();
                }
                Array a = rs.getArray(1);
                return List.of((String[]) a.getArray());
            }
        }
    }

    /** The plan made sure nobody has applied anything from these slots, so they carry nothing of value. */
    private void dropOwnSlots(NodeConfig node, Connection conn) throws SQLException {
        for (TaskSpec t : Topology.mesh(config)) {
            if (t.source().equals(node) && MeshState.slotExists(conn, t.slotName())) {
                Sql.queryString(conn, "SELECT pg_drop_replication_slot(?)", t.slotName());
                say(node.name() + ": dropped unused slot " + t.slotName() + " (recreated after the load)");
            }
        }
    }

    private void load(NodeConfig source, NodeConfig target, List<NodeConfig> peers, Map<String, Connection> conns)
            throws SQLException, LoadException, InterruptedException {
        say("initial load " + source.name() + " -> " + target.name() + " (" + jobs + " workers)"
                + (peers.isEmpty() ? "" : "; the changes of " + peers.stream().map(NodeConfig::name).toList()
                + " that " + source.name() + " has not applied yet follow over their own slots"));
        LoadProgress progress = new LoadProgress(out, terminal, source.name() + "->" + target.name());
        InitialLoad load = new InitialLoad(source, target, config.tables(), jobs, sliceBytes, progress,
                new PeerHandoff(source, target, peers), () -> createOwnSlots(target, conns));
        InitialLoad.Result r = (target.equals(repairTarget) ? load.repairingBy(repair) : load).run();
        changes++;
        say(String.format("initial load %s -> %s done: %d table(s), %,d rows, %.1f MB in %.1f s (%.1f MB/s);"
                        + " replication from %s starts at %s", source.name(), target.name(), r.tables(), r.rows(),
                r.bytes() / 1048576.0, r.seconds(), r.seconds() > 0 ? r.bytes() / 1048576.0 / r.seconds() : 0,
                source.name(), r.consistentPoint()));
    }

    /**
     * A loaded node's sequences are copies of the seed's: where ids partition cut them into
     * slices, the copies hand out values from the seed's slice. Every node gets its own again.
     */
    private void giveLoadedNodesTheirSlices(NodeConfig seed, Connection seedConn) throws SQLException {
        java.util.OptionalInt slices = SequencePartitioner.slicesOf(seedConn,
                PublicationManager.selected(seedConn, config.tables()).published());
        if (slices.isEmpty()) {
            return;
        }
        if (slices.getAsInt() < config.nodes().size()) {
            say("the sequences of " + seed.name() + " are cut into " + slices.getAsInt() + " slices, fewer than the "
                    + config.nodes().size() + " nodes: the loaded nodes hand out values of other nodes until you run"
                    + " pgmesh ids partition -c <mesh file> --slots " + SequencePartitioner.defaultSlots(config.nodes().size()));
            return;
        }
        say("the sequences of " + seed.name() + " are cut into " + slices.getAsInt() + " slices (ids partition):"
                + " giving every loaded node its own");
        new SequencePartitioner(config, slices.getAsInt(), out).run(false);
        changes++;
    }

    /** The loaded node's slots toward every other node: after its rows, so the rows never travel back. */
    private void createOwnSlots(NodeConfig node, Map<String, Connection> conns) throws SQLException {
        for (TaskSpec t : Topology.mesh(config)) {
            Connection src = conns.get(node.name());
            if (t.source().equals(node) && !MeshState.slotExists(src, t.slotName())) {
                try {
                    SlotManager.ensure(src, ServerCapabilities.of(src), t,
                            MeshState.originProgress(conns.get(t.target().name()), t.originName()), null);
                } catch (SlotLostException e) {
                    throw new SQLException(e.getMessage(), e);
                }
                say(node.name() + ": created slot " + t.slotName());
            }
        }
    }

    private void createOriginsAndSlots(Map<String, Connection> conns) throws SQLException, SlotLostException {
        for (TaskSpec t : Topology.mesh(config)) {
            Connection src = conns.get(t.source().name());
            Connection tgt = conns.get(t.target().name());
            if (!MeshState.originExists(tgt, t.originName())) {
                Sql.queryString(tgt, "SELECT pg_replication_origin_create(?)", t.originName());
                changes++;
            }
            if (!MeshState.slotExists(src, t.slotName())) {
                SlotManager.ensure(src, ServerCapabilities.of(src), t, MeshState.originProgress(tgt, t.originName()),
                        MeshState.loadedAt(tgt, t.source().name()).orElse(null));
                changes++;
                say(t.source().name() + ": created slot " + t.slotName());
            }
        }
    }

    private void say(String line) {
        out.println(line);
        out.flush();
    }
}
