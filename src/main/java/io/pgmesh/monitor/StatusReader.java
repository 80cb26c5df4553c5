package io.pgmesh.monitor;

import io.pgmesh.capture.SlotInfo;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.ClockOffset;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the state of a mesh from its nodes alone, so status works whether or not `run` is
 * running: slots and WAL on the sources, origin progress and last applied commit on the targets.
 */
public final class StatusReader {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("pgmesh.status");


    /** What one node told us, read once and shared by every task that touches it. */
    private record NodeView(Connection conn, ServerCapabilities caps, List<SlotInfo> slots, Lsn currentLsn,
                            ClockOffset clock) {
    }

    /** How long one node may take to answer all of status's questions. */
    static final Duration NODE_BOUND = Duration.ofSeconds(10);

    private StatusReader() {
    }

    /**
     * Reads every node at once, each within a bound, so that status answers in about
     * {@link #NODE_BOUND} whatever the nodes do: a node that does not answer in time (down,
     * frozen, cut off) is reported as unreachable instead of holding up the answer.
     */
    public static MeshStatus read(MeshConfig config) {
        Map<String, NodeView> views = new ConcurrentHashMap<>();
        Map<String, String> errors = new ConcurrentHashMap<>();
        Map<String, MeshStatus.NodeStatus> byNode = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(config.nodes().size(), r -> {
            Thread t = new Thread(r, "status");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> reads = new ArrayList<>();
            for (NodeConfig node : config.nodes()) {
                reads.add(pool.submit(() -> readNode(config, node, views, errors, byNode)));
            }
            for (Future<?> f : reads) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (ExecutionException e) {
                    // readNode records its own failure
                }
            }
            List<MeshStatus.NodeStatus> nodes = new ArrayList<>();
            for (NodeConfig node : config.nodes()) {
                // Absent only when the reading was interrupted before this node answered.
                nodes.add(byNode.computeIfAbsent(node.name(), n -> new MeshStatus.NodeStatus(n, false,
                        "node " + n + ": not read (interrupted)", null, List.of(), List.of(), null, List.of())));
            }
            List<MeshStatus.TaskStatus> tasks = new ArrayList<>();
            for (TaskSpec t : Topology.mesh(config)) {
                tasks.add(task(t, views.get(t.source().name()), views.get(t.target().name()), errors));
            }
            Map<String, ClockOffset> clocks = new java.util.LinkedHashMap<>();
            for (NodeConfig node : config.nodes()) {
                NodeView v = views.get(node.name());
                if (v != null) {
                    clocks.put(node.name(), v.clock());
                }
            }
            MeshStatus.ClockSkew skew = ClockOffset.widest(clocks).map(s -> new MeshStatus.ClockSkew(s.ahead(),
                    s.behind(), s.skew().toMillis(), s.uncertainty().toMillis())).orElse(null);
            return new MeshStatus(tasks, nodes, skew);
        } finally {
            pool.shutdownNow();
            views.values().forEach(v -> Sql.closeQuietly(v.conn()));
        }
    }

    private static void readNode(MeshConfig config, NodeConfig node, Map<String, NodeView> views, Map<String, String> errors,
                                 Map<String, MeshStatus.NodeStatus> byNode) {
        Connection conn = null;
        try {
            conn = PgConnector.connect(node, "status", NODE_BOUND);
            ServerCapabilities caps = ServerCapabilities.of(conn);
            NodeView v = new NodeView(conn, caps, SlotManager.pgmeshSlots(conn, caps),
                    Lsn.parse(Sql.queryString(conn, "SELECT pg_current_wal_lsn()").orElseThrow()),
                    ClockOffset.measure(conn));
            byNode.put(node.name(), new MeshStatus.NodeStatus(node.name(), true, null, caps.versionNum(),
                    v.slots().stream().map(s -> new MeshStatus.SlotStatus(s.name(), s.active(),
                            s.confirmedFlushLsn().toString(), s.retainedBytes(), s.invalidation(), s.walStatus(),
                            s.safeWalSize(), s.retainedBytes() > config.monitor().warnRetainedWalBytes())).toList(),
                    walSenders(conn), v.clock().offset().toMillis(), controlTables(node, conn)));
            views.put(node.name(), v);
        } catch (SQLException | RuntimeException e) {
            Sql.closeQuietly(conn);
            String msg = "node " + node.name() + ": unreachable: " + Errors.describe(e);
            errors.put(node.name(), msg);
            byNode.put(node.name(), new MeshStatus.NodeStatus(node.name(), false, msg, null, List.of(), List.of(),
                    null, List.of()));
        }
    }

    /** Empty when they cannot be read (a role without access to the pgmesh schema): the rest of the reading stands. */
    private static List<MeshStatus.ControlTable> controlTables(NodeConfig node, Connection conn) {
        try {
            return ControlTables.read(conn);
        } catch (SQLException e) {
            log.debug("node {}: sizes of pgmesh's tables not read: {}", node.name(), Errors.describe(e));
            return List.of();
        }
    }

    private static MeshStatus.TaskStatus task(TaskSpec t, NodeView source, NodeView target, Map<String, String> errors) {
        String error = errors.getOrDefault(t.source().name(), errors.get(t.target().name()));
        Boolean active = null;
        String invalidation = null;
        String current = null;
        String confirmed = null;
        Long lag = null;
        if (source != null) {
            current = source.currentLsn().toString();
            Optional<SlotInfo> slot = source.slots().stream().filter(s -> s.name().equals(t.slotName())).findFirst();
            if (slot.isPresent()) {
                active = slot.get().active();
                invalidation = slot.get().invalidation();
                confirmed = slot.get().confirmedFlushLsn().toString();
                lag = Math.max(0, source.currentLsn().minus(slot.get().confirmedFlushLsn()));
            } else if (error == null) {
                error = "slot " + t.slotName() + " does not exist on " + t.source().name();
            }
        }
        String progress = null;
        String lastCommit = null;
        Long latency = null;
        MeshStatus.RunState run = null;
        MeshStatus.Lease lease = null;
        if (target != null) {
            try {
                run = runState(target.conn(), t.source().name());
                lease = lease(target.conn(), t.source().name());
                progress = Sql.queryString(target.conn(), """
                        SELECT s.remote_lsn::text FROM pg_replication_origin_status s
                          JOIN pg_replication_origin o ON o.roident = s.local_id WHERE o.roname = ?""",
                        t.originName()).orElse(null);
                try (PreparedStatement ps = target.conn().prepareStatement("""
                        SELECT last_commit_time::text, (extract(epoch FROM applied_at - last_commit_time) * 1000)::bigint
                          FROM pgmesh.task_progress WHERE source_node = ? AND to_regclass('pgmesh.task_progress') IS NOT NULL""")) {
                    ps.setString(1, t.source().name());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            lastCommit = rs.getString(1);
                            latency = rs.getLong(2);
                        }
                    }
                }
            } catch (SQLException e) {
                if (!io.pgmesh.pg.SqlStates.UNDEFINED_TABLE.equals(e.getSQLState())) {
                    error = "node " + t.target().name() + ": " + Errors.describe(e);
                }
            }
        }
        return new MeshStatus.TaskStatus(t.name(), t.source().name(), t.target().name(), t.slotName(), active,
                invalidation, current, confirmed, lag, progress, lastCommit, latency, run, error, lease);
    }

    /**
     * Who holds the task's lease, or null if no run process ever took it. Its end is computed as
     * {@code io.pgmesh.task.TaskLease.LIVE} decides liveness; the 15 s are its {@code TERM}.
     */
    private static MeshStatus.Lease lease(Connection target, String source) throws SQLException {
        if (!Sql.queryBool(target, "SELECT to_regclass('pgmesh.task_lease') IS NOT NULL")) {
            return null;
        }
        try (PreparedStatement ps = target.prepareStatement("""
                SELECT process, preferred, floor(extract(epoch FROM greatest(expires_at,
                           (SELECT a.query_start + interval '15 seconds' FROM pg_stat_activity a WHERE a.pid = l.keeper_pid))
                           - clock_timestamp()))::bigint
                  FROM pgmesh.task_lease l WHERE source_node = ? AND expires_at > '-infinity'""")) {
            ps.setString(1, source);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new MeshStatus.Lease(rs.getString(1), rs.getBoolean(2), rs.getLong(3)) : null;
            }
        }
    }

    /** What the run process applying this task last reported, or null if none ever did. */
    private static MeshStatus.RunState runState(Connection target, String source) throws SQLException {
        if (!Sql.queryBool(target, "SELECT to_regclass('pgmesh.task_state') IS NOT NULL")) {
            return null;
        }
        try (PreparedStatement ps = target.prepareStatement("""
                SELECT state, detail, since::text, process, EXISTS (SELECT FROM pg_stat_activity
                         WHERE application_name = left(? || process, 63)), to_jsonb(t) ->> 'table_stats'
                  FROM pgmesh.task_state t WHERE source_node = ?""")) {
            ps.setString(1, "pgmesh " + Names.reportPurpose(""));
            ps.setString(2, source);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new MeshStatus.RunState(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getBoolean(5), rs.getString(6));
            }
        }
    }

    private static List<MeshStatus.WalSender> walSenders(Connection conn) throws SQLException {
        List<MeshStatus.WalSender> senders = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT application_name, state, sent_lsn::text, flush_lsn::text FROM pg_stat_replication ORDER BY pid");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                senders.add(new MeshStatus.WalSender(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
            }
        }
        return senders;
    }
}
