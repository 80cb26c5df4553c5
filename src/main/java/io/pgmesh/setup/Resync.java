package io.pgmesh.setup;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.load.LoadException;
import io.pgmesh.capture.SlotLostException;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import io.pgmesh.validate.TableReport;
import io.pgmesh.validate.ValidateOptions;
import io.pgmesh.validate.ValidationException;
import io.pgmesh.validate.ValidationReport;
import io.pgmesh.validate.SnapshotRepair;
import io.pgmesh.validate.Validator;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code pgmesh resync NODE --from SOURCE}: rebuilds a node whose rows can no longer follow the
 * mesh (its slot was lost, or it was down past the WAL the others kept) while the other nodes keep
 * running. It is a join of NODE again: what NODE had applied and sent so far no longer counts.
 *
 * <p>First the keys where NODE differs from SOURCE are read and printed: they may be writes NODE
 * made while cut off. Then NODE's load is marked as running (so every task into or out of NODE
 * waits), the sessions of those tasks end, their slots and origins go, and NODE's rows are brought
 * to SOURCE's snapshot with the same hand-off as a join, in one of two ways:
 * <ul>
 *   <li>repair: only the keys that differ from the snapshot are written (validate's comparison),
 *       each with NODE's own row kept in {@code pgmesh.resync_saved} in the same transaction;</li>
 *   <li>reload: init's reload path empties NODE's tables and copies them; the differing keys found
 *       first are what is kept in {@code pgmesh.resync_saved}.</li>
 * </ul>
 * By default repair is chosen when at most half of the rows differ.
 */
public final class Resync {
    /** How NODE's rows are brought to SOURCE's snapshot. */
    public enum Mode {
        /** Repair when at most half of the rows differ, else reload. */
        AUTO,
        REPAIR,
        RELOAD
    }

    private final MeshConfig config;
    private final NodeConfig node;
    private final NodeConfig source;
    private final boolean force;
    private final int jobs;
    private final Duration drainTimeout;
    private final Mode requested;
    private final PrintWriter out;
    /** The mode chosen once NODE's differences are known. */
    private Mode mode;

    public Resync(MeshConfig config, NodeConfig node, NodeConfig source, boolean force, int jobs, Duration drainTimeout,
                  Mode requested, PrintWriter out) {
        this.config = config;
        this.node = node;
        this.source = source;
        this.force = force;
        this.jobs = jobs;
        this.drainTimeout = drainTimeout;
        this.requested = requested;
        this.out = out;
    }

    /** True when NODE is loaded again; false when it refused (and then nothing was changed). */
    public boolean run() throws SQLException, InterruptedException, ValidationException, LoadException,
            SlotLostException {
        Map<NodeConfig, Connection> conns = new LinkedHashMap<>();
        try {
            for (NodeConfig n : config.nodes()) {
                try {
                    conns.put(n, PgConnector.connect(n, "resync"));
                } catch (SQLException e) {
                    say("refused: cannot connect to " + PgConnector.describe(n) + " (" + io.pgmesh.pg.Errors.describe(e)
                            + "); resync changes nothing until every node is reachable");
                    return false;
                }
            }
            Connection target = conns.get(node);
            if (!ControlSchema.exists(target)) {
                say("refused: " + node.name() + " has no pgmesh schema, so it never replicated: load it with pgmesh init."
                        + " Nothing was changed");
                return false;
            }
            List<TableName> tables = new ArrayList<>(PublicationManager.selected(conns.get(source), config.tables())
                    .published());
            // What NODE wrote and the others have not applied yet would be lost with its slots: it
            // goes out first, as far as its slots can still send.
            List<String> others = config.nodes().stream().filter(n -> !n.equals(node)).map(NodeConfig::name).toList();
            List<String> behind = Drain.await(target, node.name(), others, drainTimeout);
            if (!behind.isEmpty() && !force) {
                say("refused: after " + drainTimeout.toSeconds() + " s these tasks have still not applied everything " + node.name() + " wrote: "
                        + String.join(", ", behind) + "; start pgmesh run so they can, or --force resyncs anyway (those"
                        + " changes are then lost to the nodes that lack them). Nothing was changed");
                return false;
            }
            mode = saveDifferences(target, conns.get(source));
            if (mode == null) {
                return false;
            }
            holdTasks(target, tables);
            for (var e : conns.entrySet()) {
                if (!e.getKey().equals(node)) {
                    cutFrom(e.getKey(), e.getValue());
                }
            }
            cutOnNode(target);
        } finally {
            for (Connection c : conns.values()) {
                c.close();
            }
        }
        MeshConfig fromSource = new MeshConfig(config.nodes(), config.tables(), source.name(), config.conflicts());
        Initializer init = new Initializer(fromSource, jobs, out, System.console() != null);
        if (mode == Mode.REPAIR) {
            init.repairing(node, new KeyRepairBySnapshot());
        }
        return init.run();
    }

    /** Repair by key over the load's snapshot; NODE's row of every key it changes is kept first. */
    private final class KeyRepairBySnapshot implements io.pgmesh.load.InitialLoad.KeyRepair {
        @Override
        public String sessionSettings() {
            return SnapshotRepair.sessionSettings();
        }

        private long tableStarted;
        private long lastShown;

        /** A line every 5 s while a table's repair runs: how far, keys written, and the time left. */
        private void passed(TableName table, long compared, long toCompare, long written) {
            long now = System.nanoTime();
            if (now - lastShown < 5_000_000_000L || compared >= toCompare) {
                return;
            }
            lastShown = now;
            double seconds = (now - tableStarted) / 1e9;
            say(String.format("%s: repairing %s: %,d of %,d rows compared, %,d keys written, about %.0f s left",
                    node.name(), table, compared, toCompare, written, seconds * (toCompare - compared) / compared));
        }

        @Override
        public Session open(Connection sourceInSnapshot) throws SQLException {
            SnapshotRepair repair = SnapshotRepair.open(source, sourceInSnapshot, node, config.nodes().stream()
                    .map(NodeConfig::name).collect(java.util.stream.Collectors.toSet()),
                    (conn, table, keyColumns, key, row) -> ResyncSaved.save(conn, source.name(), table, key, row),
                    this::passed);
            return new Session() {
                @Override
                public boolean repair(TableName table) throws SQLException {
                    long started = System.nanoTime();
                    tableStarted = started;
                    lastShown = started;
                    var done = repair.repair(table);
                    if (done.isEmpty()) {
                        say(node.name() + ": " + table + " has no key to repair by: emptied and copied from "
                                + source.name());
                        return false;
                    }
                    SnapshotRepair.Outcome o = done.get();
                    say(String.format("%s: repaired %s: %,d of %,d rows differed from %s's snapshot (%,d inserted,"
                                    + " %,d updated, %,d deleted) in %.1f s", node.name(), table, o.differing(), o.rows(),
                            source.name(), o.inserted(), o.updated(), o.deleted(), (System.nanoTime() - started) / 1e9));
                    return true;
                }

                @Override
                public void close() throws SQLException {
                    repair.close();
                }
            };
        }
    }

    /**
     * Names every key where NODE differs from SOURCE and chooses the mode; a reload keeps NODE's
     * version of those keys here, a repair as it writes them. A key only NODE holds may be a write
     * nobody else has: without --force that refuses the resync (null), naming the keys.
     */
    private Mode saveDifferences(Connection target, Connection onSource)
            throws ValidationException, InterruptedException, SQLException {
        MeshConfig pair = new MeshConfig(List.of(source, node), config.tables());
        ValidationReport report = Validator.run(pair, new ValidateOptions(Duration.ZERO, 20, 1));
        record Kept(TableReport.RepairKeys keys, List<String> key, String row, boolean onSource) {
        }
        List<Kept> kept = new ArrayList<>();
        for (TableReport t : report.tables()) {
            if (t.verdict() != TableReport.Verdict.DIFFERENT) {
                continue;
            }
            if (t.repairKeys() == null) {
                say(node.name() + ": " + t.table() + " differs from " + source.name() + " and has no key to keep its"
                        + " rows by; they are replaced");
                continue;
            }
            for (List<String> key : t.repairKeys().values()) {
                kept.add(new Kept(t.repairKeys(), key, rowOf(target, t.repairKeys(), key),
                        rowOf(onSource, t.repairKeys(), key) != null));
            }
        }
        long differing = 0;
        long rows = 0;
        for (TableReport t : report.tables()) {
            differing += t.differingKeys() + t.uncheckedKeys();
            rows += Math.max(t.rows().getOrDefault(source.name(), 0L), t.rows().getOrDefault(node.name(), 0L));
        }
        long onlyOnNode = 0;
        for (Kept k : kept) {
            boolean only = k.row() != null && !k.onSource();
            onlyOnNode += only ? 1 : 0;
            say(node.name() + ": " + k.keys().table() + " " + io.pgmesh.validate.KeyDifference.keyed(k.keys().columns(),
                    k.key()) + (k.row() == null ? " is missing (" + source.name() + " has it)"
                    : only ? " exists only here" : " differs from " + source.name()));
        }
        if (onlyOnNode > 0 && !force) {
            say("refused: " + onlyOnNode + " key(s) exist only on " + node.name() + " (listed above): they may be writes"
                    + " no other node has; --force resyncs anyway (they are kept in pgmesh.resync_saved). Nothing was"
                    + " changed");
            return null;
        }
        Mode chosen = requested != Mode.AUTO ? requested : rows > 0 && differing * 2 <= rows ? Mode.REPAIR : Mode.RELOAD;
        say(String.format("%s: %,d of %,d rows differ from %s: resync by %s%s", node.name(), differing, rows,
                source.name(), chosen == Mode.REPAIR ? "repair (only the differing keys are written)"
                        : "reload (every row is copied again)", requested == Mode.AUTO ? " (--mode "
                        + (chosen == Mode.REPAIR ? "reload" : "repair") + " to choose the other)" : ""));
        ResyncSaved.ensure(target);
        if (chosen == Mode.REPAIR) {
            return chosen;
        }
        for (Kept k : kept) {
            ResyncSaved.save(target, source.name(), k.keys().table(), k.key(), k.row());
        }
        if (!kept.isEmpty()) {
            say(node.name() + ": " + kept.size() + " differing key(s) and its rows for them kept in"
                    + " pgmesh.resync_saved before the reload");
        }
        return chosen;
    }

    /** The key's row as JSON on the node {@code conn} is connected to; null when absent. */
    private static String rowOf(Connection conn, TableReport.RepairKeys keys, List<String> key) throws SQLException {
        return io.pgmesh.pg.KeyMatch.rowJson(conn, keys.table(), keys.columns(), key)[0];
    }

    /** From here on every task into or out of NODE waits, and init takes its reload path. */
    private void holdTasks(Connection target, List<TableName> tables) throws SQLException {
        io.pgmesh.load.InitialLoad.markLoading(target, source.name(), tables);
        say(node.name() + ": resync from " + source.name() + " started; its tasks wait until it is done");
    }

    /** On another node: the slot toward NODE and the origin of NODE's changes, and their sessions. */
    private void cutFrom(NodeConfig other, Connection conn) throws SQLException, InterruptedException {
        String slot = Names.slot(other.name(), node.name());
        String origin = Names.origin(node.name());
        TaskCut.endAndReset(conn, List.of(slot), List.of(origin), List.of("pgmesh apply " + node.name() + "->" + other.name()));
        Sql.queryString(conn, "DELETE FROM pgmesh.task_progress WHERE source_node = ? RETURNING 1", node.name());
        Sql.queryString(conn, "DELETE FROM pgmesh.seen_history WHERE source_node = ? RETURNING 1", node.name());
        Sql.queryString(conn, "DELETE FROM pgmesh.slot_start WHERE slot_name = ? RETURNING 1", slot);
    }

    /** On NODE: its slots toward the others and the origins of their changes; what it knew goes. */
    private void cutOnNode(Connection conn) throws SQLException, InterruptedException {
        List<String> slots = new ArrayList<>();
        List<String> origins = new ArrayList<>();
        for (NodeConfig other : config.nodes()) {
            if (!other.equals(node)) {
                slots.add(Names.slot(node.name(), other.name()));
                origins.add(Names.origin(other.name()));
            }
        }
        TaskCut.endAndReset(conn, slots, origins, List.of("pgmesh apply %->" + node.name()));
        Sql.exec(conn, "DELETE FROM pgmesh.task_progress; DELETE FROM pgmesh.seen_history; DELETE FROM pgmesh.slot_start");
    }

    private void say(String line) {
        out.println(line);
        out.flush();
    }
}
