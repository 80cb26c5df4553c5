package io.pgmesh.ids;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.ids.KeySequences.Column;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code pgmesh ids partition}: gives every node its own slice of each sequence that feeds a
 * column of a replicated table (see {@link PartitionRule}), above every value in use on any node.
 *
 * <p>It reads every node first and changes nothing until every sequence has a valid plan. To
 * change, it locks the sequences it will alter on every node (an ALTER SEQUENCE blocks nextval
 * until commit), reads the values in use again under those locks, alters, and commits: a value
 * handed out while it was reading is therefore never handed out again by another node.
 */
public final class SequencePartitioner {
    public static final int MAX_SLOTS = 1_000_000;
    /** How long to wait for a transaction that holds a sequence; writers queue behind the wait. */
    private static final String LOCK_TIMEOUT = "10s";
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    /** One sequence on one node: left alone (restart empty) or restarted in its slice. */
    record Step(int node, SequenceState state, List<Column> columns, OptionalLong restart) {
        boolean changes() {
            return restart.isPresent();
        }
    }

    /** What a run found or did: sequences altered (or to alter, on a dry run) and left alone. */
    public record Outcome(int changed, int unchanged) {
    }

    private final MeshConfig mesh;
    private final int slots;
    private final PrintWriter out;

    /** Room for up to eight nodes, so a node added later takes a free slot and the others stay as they are. */
    public static int defaultSlots(int nodes) {
        return Math.max(nodes, 8);
    }

    /**
     * The number of slices the sequences feeding {@code tables} on this node are cut into: their
     * common INCREMENT when every one of them steps by more than 1 (ids partition ran), else empty.
     */
    public static java.util.OptionalInt slicesOf(Connection conn, Set<TableName> tables) throws SQLException {
        Set<Long> increments = new java.util.TreeSet<>();
        for (TableName sequence : KeySequences.fedColumns(conn, tables).keySet()) {
            increments.add(KeySequences.state(conn, sequence).increment());
        }
        if (increments.size() != 1 || increments.iterator().next() <= 1 || increments.iterator().next() > MAX_SLOTS) {
            return java.util.OptionalInt.empty();
        }
        return java.util.OptionalInt.of(increments.iterator().next().intValue());
    }

    public SequencePartitioner(MeshConfig mesh, int slots, PrintWriter out) {
        if (slots < mesh.nodes().size() || slots > MAX_SLOTS) {
            throw new IllegalArgumentException("slots must be " + mesh.nodes().size() + ".." + MAX_SLOTS
                    + " (at least one per node), got " + slots);
        }
        this.mesh = mesh;
        this.slots = slots;
        this.out = out;
    }

    public Outcome run(boolean dryRun) throws SQLException {
        List<Connection> conns = new ArrayList<>();
        try {
            for (NodeConfig node : mesh.nodes()) {
                conns.add(connect(node));
            }
            Map<TableName, Map<Integer, List<Column>>> sequences = discover(conns);
            List<Step> plan = plan(conns, sequences);
            int changes = (int) plan.stream().filter(Step::changes).count();
            if (dryRun || changes == 0) {
                print(plan, dryRun);
                out.println(dryRun ? "dry run: " + changes + " sequence(s) to change; nothing was changed"
                        : "nothing to change: every sequence is already partitioned");
                return new Outcome(changes, plan.size() - changes);
            }
            lock(conns, plan);
            List<Step> locked = plan(conns, sequences);
            print(locked, false);
            return execute(conns, locked);
        } finally {
            for (Connection c : conns) {
                closeQuietly(c);
            }
        }
    }

    private Connection connect(NodeConfig node) {
        try {
            return PgConnector.connect(node, "ids partition");
        } catch (SQLException e) {
            throw new PartitionException(PgConnector.describe(node) + ": cannot connect: " + Errors.describe(e), e);
        }
    }

    /** Sequence -> node index -> the replicated columns it feeds there. */
    private Map<TableName, Map<Integer, List<Column>>> discover(List<Connection> conns) throws SQLException {
        Map<TableName, Map<Integer, List<Column>>> sequences = new TreeMap<>();
        for (int i = 0; i < conns.size(); i++) {
            Set<TableName> replicated = PublicationManager.selected(conns.get(i), mesh.tables()).published();
            for (var e : KeySequences.fedColumns(conns.get(i), replicated).entrySet()) {
                sequences.computeIfAbsent(e.getKey(), k -> new TreeMap<>()).put(i, e.getValue());
            }
        }
        return sequences;
    }

    private List<Step> plan(List<Connection> conns, Map<TableName, Map<Integer, List<Column>>> sequences)
            throws SQLException {
        List<Step> plan = new ArrayList<>();
        for (var e : sequences.entrySet()) {
            plan.addAll(planSequence(conns, e.getValue(), e.getKey()));
        }
        return plan;
    }

    private List<Step> planSequence(List<Connection> conns, Map<Integer, List<Column>> byNode, TableName sequence)
            throws SQLException {
        // The same table may be fed by the sequence on one node and filled by replication alone on
        // another: the values in use are looked up on every node that has the column.
        Set<Column> columns = new LinkedHashSet<>();
        byNode.values().forEach(columns::addAll);
        Map<Integer, SequenceState> states = new TreeMap<>();
        long maxInUse = Long.MIN_VALUE;
        boolean allPartitioned = true;
        for (var e : byNode.entrySet()) {
            SequenceState s = KeySequences.state(conns.get(e.getKey()), sequence);
            if (s.increment() <= 0) {
                throw new PartitionException(name(e.getKey()) + ": sequence " + sequence + " counts down (INCREMENT "
                        + s.increment() + "); ids partition handles ascending sequences only");
            }
            states.put(e.getKey(), s);
            maxInUse = Math.max(maxInUse, s.lastUsed());
            allPartitioned &= PartitionRule.isPartitioned(s, slot(e.getKey()), slots);
        }
        for (int i = 0; i < conns.size(); i++) {
            for (Column c : columns) {
                if (KeySequences.exists(conns.get(i), c)) {
                    maxInUse = Math.max(maxInUse, KeySequences.maxInUse(conns.get(i), c));
                }
            }
        }
        Map<Long, Long> maxByResidue = allPartitioned ? maxByResidue(conns, columns) : Map.of();
        List<Step> steps = new ArrayList<>();
        for (var e : states.entrySet()) {
            int node = e.getKey();
            SequenceState s = e.getValue();
            // Already partitioned, and nothing in its own slice at or past its next value: keep it.
            // Values of other slices cannot collide with it, however high they are.
            boolean keep = allPartitioned && s.next() > maxByResidue.getOrDefault(
                    PartitionRule.residue(slot(node), slots), Long.MIN_VALUE);
            OptionalLong restart = keep ? OptionalLong.empty()
                    : OptionalLong.of(PartitionRule.restartValue(name(node), s, maxInUse, slot(node), slots));
            steps.add(new Step(node, s, byNode.get(node), restart));
        }
        return steps;
    }

    private Map<Long, Long> maxByResidue(List<Connection> conns, Set<Column> columns) throws SQLException {
        Map<Long, Long> max = new HashMap<>();
        for (Connection conn : conns) {
            for (Column c : columns) {
                if (KeySequences.exists(conn, c)) {
                    KeySequences.maxByResidue(conn, c, slots).forEach((r, v) -> max.merge(r, v, Math::max));
                }
            }
        }
        return max;
    }

    /**
     * Opens a transaction on every node and takes the lock of every sequence to change: an ALTER
     * SEQUENCE that sets the increment it already has changes nothing but blocks nextval until
     * commit.
     */
    private void lock(List<Connection> conns, List<Step> plan) throws SQLException {
        for (Connection c : conns) {
            Sql.exec(c, "SET lock_timeout = '" + LOCK_TIMEOUT + "'");
            c.setAutoCommit(false);
        }
        for (Step step : plan) {
            if (!step.changes()) {
                continue;
            }
            TableName seq = step.state().sequence();
            try {
                Sql.exec(conns.get(step.node()), "ALTER SEQUENCE " + Ident.qualified(seq.schema(), seq.name())
                        + " INCREMENT BY " + step.state().increment());
            } catch (SQLException e) {
                if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                    throw new PartitionException(name(step.node()) + ": sequence " + seq + " stayed in use by an open"
                            + " transaction for " + LOCK_TIMEOUT + "; nothing was changed, run ids partition again", e);
                }
                throw e;
            }
        }
    }

    private Outcome execute(List<Connection> conns, List<Step> plan) throws SQLException {
        int changed = 0;
        for (Step step : plan) {
            if (step.changes()) {
                Sql.exec(conns.get(step.node()), PartitionRule.statement(step.state(), slots, step.restart().getAsLong()));
                changed++;
            }
        }
        List<String> committed = new ArrayList<>();
        for (int i = 0; i < conns.size(); i++) {
            try {
                conns.get(i).commit();
            } catch (SQLException e) {
                throw new PartitionException(name(i) + ": commit failed: " + Errors.describe(e) + "; "
                        + (committed.isEmpty() ? "nothing was changed" : "already changed on " + String.join(", ", committed))
                        + "; run ids partition again", e);
            }
            committed.add(name(i));
        }
        out.println("changed " + changed + " sequence(s)");
        return new Outcome(changed, plan.size() - changed);
    }

    private void print(List<Step> plan, boolean dryRun) {
        out.println("ids partition: " + slots + " slots; the node in slot k (its position in the mesh file, from 1)"
                + " takes the values that are k mod " + slots);
        for (int i = 0; i < mesh.nodes().size(); i++) {
            out.println(PgConnector.describe(mesh.nodes().get(i)) + ", slot " + slot(i) + ": values = "
                    + PartitionRule.residue(slot(i), slots) + " mod " + slots);
            boolean any = false;
            for (Step step : plan) {
                if (step.node() == i) {
                    out.println("  " + describe(step, dryRun));
                    any = true;
                }
            }
            if (!any) {
                out.println("  no sequence feeds a column of a replicated table");
            }
        }
    }

    private String describe(Step step, boolean dryRun) {
        SequenceState s = step.state();
        String what = s.sequence() + " (" + step.columns().stream().map(Column::toString)
                .reduce((a, b) -> a + ", " + b).orElse("") + "): ";
        String now = "INCREMENT " + s.increment() + ", next " + s.next();
        if (!step.changes()) {
            return what + "already partitioned (" + now + ")";
        }
        String sql = PartitionRule.statement(s, slots, step.restart().getAsLong()) + ";";
        String cache = s.cache() > 1 ? "  -- CACHE " + s.cache() + ": sessions connected before this can still hand out"
                + " values they cached; reconnect them" : "";
        return what + now + (dryRun ? ", would run: " : ", runs: ") + sql + cache;
    }

    private int slot(int nodeIndex) {
        return nodeIndex + 1;
    }

    private String name(int nodeIndex) {
        return mesh.nodes().get(nodeIndex).name();
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close(); // an open transaction is rolled back: nothing half-done stays
        } catch (SQLException ignored) {
            // The connection is gone already; the server rolled back with it.
        }
    }
}
