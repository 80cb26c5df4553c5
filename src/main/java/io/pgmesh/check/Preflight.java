package io.pgmesh.check;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.ClockOffset;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The preflight check of a mesh: everything that would keep {@code init} or {@code run} from
 * working, found before anything is created. Connects to each node once, in a read-only session,
 * and never changes anything on a node; an unreachable node is one finding and the others are
 * still checked.
 */
public final class Preflight {

    /** One check of one node; its findings, or an SQLException when it could not finish. */
    @FunctionalInterface
    private interface NodeCheck {
        List<Finding> check(CheckedNode node) throws SQLException;
    }

    private Preflight() {
    }

    /**
     * What one node's checks found, its replicated tables as read and its clock (each null when
     * it could not be read).
     */
    private record NodeResult(List<Finding> findings, Map<TableName, TableInfo> tables, ClockOffset clock,
                              CreateRights rights) {
    }

    /**
     * Every finding for the mesh, node by node in the mesh file's order, then those across nodes.
     * The nodes are checked at once: an unreachable node's connect timeout does not hold up the
     * others, and the time a check takes stays that of the slowest node.
     */
    public static List<Finding> run(MeshConfig config) {
        return run(config, ClockSkewCheck.DEFAULT_BOUND);
    }

    /** As {@link #run(MeshConfig)}, warning when two nodes' clocks differ by more than {@code maxClockSkew}. */
    public static List<Finding> run(MeshConfig config, Duration maxClockSkew) {
        List<Finding> findings = new ArrayList<>();
        Map<String, ClockOffset> clocks = new LinkedHashMap<>();
        MeshTables tables = new MeshTables(config);
        ExecutorService pool = Executors.newFixedThreadPool(config.nodes().size(), r -> {
            Thread t = new Thread(r, "check");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<NodeResult>> results = new ArrayList<>();
            for (NodeConfig node : config.nodes()) {
                results.add(pool.submit(() -> checkNode(config, node)));
            }
            for (int i = 0; i < results.size(); i++) {
                NodeResult r = await(results.get(i));
                findings.addAll(r.findings());
                if (r.tables() != null) {
                    tables.put(config.nodes().get(i).name(), r.tables());
                }
                if (r.rights() != null) {
                    tables.rights(config.nodes().get(i).name(), r.rights());
                }
                if (r.clock() != null) {
                    clocks.put(config.nodes().get(i).name(), r.clock());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        findings.addAll(TablePresenceCheck.check(tables));
        findings.addAll(TableShapeCheck.check(tables));
        findings.addAll(UnreplicableTableCheck.check(tables));
        findings.addAll(SequenceOverlapCheck.check(tables));
        findings.addAll(ConflictResolutionCheck.check(config.conflicts()));
        findings.addAll(ClockSkewCheck.check(clocks, maxClockSkew));
        return List.copyOf(findings);
    }

    private static NodeResult await(Future<NodeResult> result) {
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking the nodes", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    private static NodeResult checkNode(MeshConfig config, NodeConfig node) {
        List<Finding> findings = new ArrayList<>();
        Connection conn;
        try {
            conn = PgConnector.connect(node, "check");
        } catch (SQLException e) {
            findings.add(unreachable(node, e));
            return new NodeResult(findings, null, null, null);
        }
        AtomicReference<Map<TableName, TableInfo>> read = new AtomicReference<>();
        AtomicReference<ClockOffset> clock = new AtomicReference<>();
        AtomicReference<CreateRights> rights = new AtomicReference<>();
        try (conn) {
            // Belt and braces: whatever a check runs, this session cannot write.
            Sql.exec(conn, "SET default_transaction_read_only = on");
            CheckedNode n = new CheckedNode(config, node, conn, ServerCapabilities.of(conn));
            run(n, "clock", c -> {
                clock.set(ClockOffset.measure(c.conn()));
                return List.of();
            }, findings);
            run(n, "server settings", ServerSettingsCheck::check, findings);
            run(n, "capacity", CapacityCheck::check, findings);
            run(n, "role", RoleCheck::check, findings);
            run(n, "replication connection", ReplicationConnectionCheck::check, findings);
            run(n, "slot", SlotCheck::check, findings);
            run(n, "ddl capture", DdlCaptureCheck::check, findings);
            run(n, "table", c -> {
                read.set(TableCatalog.read(c.conn(), config.tables()));
                return TablePrivilegeCheck.check(c, read.get());
            }, findings);
            if (read.get() != null) {
                run(n, "row security", c -> RowSecurityCheck.check(c, read.get()), findings);
            }
            run(n, "create rights", c -> {
                rights.set(CreateRights.read(c.conn()));
                return controlSchemaRights(c, rights.get());
            }, findings);
        } catch (SQLException e) {
            findings.add(checkFailed(node, "connection", e));
        }
        return new NodeResult(findings, read.get(), clock.get(), rights.get());
    }

    /** init creates the schema pgmesh on every node: the role must be able to. */
    private static List<Finding> controlSchemaRights(CheckedNode n, CreateRights rights) {
        if (rights.existing().contains("pgmesh")) {
            return List.of();
        }
        return rights.deniedIn("pgmesh", n.node().user()).map(fix -> List.of(Finding.error(n.name(), "create_schema",
                "role " + n.node().user() + " may not create the schema pgmesh in database " + n.node().database(),
                "init keeps pgmesh's progress, conflict log and tombstones in a schema pgmesh on every node",
                "as a superuser or the database owner: " + fix.replace("<database>",
                        io.pgmesh.pg.Ident.quote(n.node().database()))))).orElse(List.of());
    }

    private static void run(CheckedNode n, String what, NodeCheck check, List<Finding> findings) {
        try {
            findings.addAll(check.check(n));
        } catch (SQLException e) {
            findings.add(checkFailed(n.node(), what, e));
        }
    }

    private static Finding unreachable(NodeConfig node, SQLException e) {
        return Finding.error(node.name(), "unreachable", "cannot connect to " + node.host() + ":" + node.port()
                        + " (database " + node.database() + ", user " + node.user() + "): " + Errors.describe(e),
                "pgmesh reads from and writes to every node; the other checks of this node were skipped",
                "check host, port, database, user and password of " + node.name() + " in the mesh file, that"
                        + " PostgreSQL runs there and listens on that address (listen_addresses), and that"
                        + " pg_hba.conf admits this machine (on Amazon RDS: also the security group)");
    }

    private static Finding checkFailed(NodeConfig node, String what, SQLException e) {
        return Finding.error(node.name(), "check_failed", "the " + what + " check could not finish: "
                        + Errors.describe(e),
                "what it would have checked is unknown, so the node cannot be called ready",
                "act on the reason above, then run pgmesh check again");
    }
}
