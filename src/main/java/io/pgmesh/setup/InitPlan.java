package io.pgmesh.setup;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.capture.PublicationManager;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code init} will do to each node, decided before anything is touched, so that a refusal
 * ("this node already holds rows") leaves every node exactly as it was.
 *
 * @param loads     targets that get an initial load, in mesh order
 * @param reloads   targets whose earlier load was interrupted: its leftovers go first
 * @param refusals  one line per reason init must stop; empty when it may proceed
 * @param notes     what init found already done
 * @param peers     per target to load, the running nodes (besides the seed) whose changes the
 *                  load hands off to it ({@link io.pgmesh.load.PeerHandoff})
 */
public record InitPlan(List<NodeConfig> loads, List<NodeConfig> reloads, List<String> refusals, List<String> notes,
                       Map<String, List<NodeConfig>> peers) {

    public boolean refused() {
        return !refusals.isEmpty();
    }

    public List<NodeConfig> peersOf(NodeConfig target) {
        return peers.getOrDefault(target.name(), List.of());
    }

    /** Plans init for {@code config}; {@code conns} holds one open connection per node name. */
    public static InitPlan of(MeshConfig config, Map<String, Connection> conns) throws SQLException {
        List<NodeConfig> loads = new ArrayList<>();
        List<NodeConfig> reloads = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        Map<String, List<NodeConfig>> peers = new LinkedHashMap<>();
        if (config.initialLoadSource().isEmpty()) {
            refusals.addAll(removedAndNotReloaded(config, conns, loads));
            return new InitPlan(loads, reloads, refusals, notes, peers);
        }
        NodeConfig source = config.initialLoadSource().get();
        Connection src = conns.get(source.name());
        List<TableName> tables = new ArrayList<>(PublicationManager.selected(src, config.tables()).published());
        java.util.Set<String> removed = removedNodes(conns);
        for (NodeConfig target : config.nodes()) {
            if (target.equals(source)) {
                continue;
            }
            Connection tgt = conns.get(target.name());
            if (removed.contains(target.name())) {
                // What it knew of the mesh no longer holds: it joins again as a new node, or not at all.
                if (nonEmpty(tgt, tables).isEmpty()) {
                    notes.add(target.name() + " was removed from the mesh before: it is loaded again as a new node");
                    loads.add(target);
                }
                continue;
            }
            String state = MeshState.initialLoadState(tgt, source.name()).orElse(null);
            String slot = Names.slot(source.name(), target.name());
            if ("done".equals(state)) {
                notes.add(target.name() + " was loaded from " + source.name() + " before: not loaded again");
            } else if ("loading".equals(state)) {
                if (MeshState.slotActive(src, slot)) {
                    refusals.add(target.name() + ": slot " + slot + " is in use on " + source.name()
                            + " (is pgmesh init or run still running?); stop it, then run init again");
                } else {
                    refusals.addAll(outgoingInUse(config, conns, target));
                    refusals.addAll(appliedFromOthers(tgt, target, source));
                    reloads.add(target);
                }
            } else if (MeshState.slotExists(src, slot)
                    || !MeshState.originProgress(tgt, Names.origin(source.name())).isZero()) {
                notes.add(target.name() + " already replicates from " + source.name() + ": not loaded");
            } else {
                List<String> nonEmpty = nonEmpty(tgt, tables);
                if (!nonEmpty.isEmpty()) {
                    refusals.add(target.name() + " is not empty, so it is not loaded from " + source.name()
                            + " (a full load never runs twice): " + String.join(", ", nonEmpty)
                            + " already hold rows; empty them, or remove initial-load from the mesh file"
                            + " if every node already holds the same rows");
                    continue;
                }
                refusals.addAll(outgoingInUse(config, conns, target));
                refusals.addAll(appliedFromOthers(tgt, target, source));
                loads.add(target);
            }
        }
        for (NodeConfig target : config.nodes()) {
            if (loads.contains(target) || reloads.contains(target)) {
                peers.put(target.name(), runningPeers(config, conns, source, target, loads, reloads, refusals));
            }
        }
        refusals.addAll(removedAndNotReloaded(config, conns, loads));
        return new InitPlan(loads, reloads, refusals, notes, peers);
    }

    /**
     * A node remove-node took out comes back only as a new node would, loaded from the seed: its
     * rows stopped following the others when it left.
     */
    /** The nodes remove-node took out, as any node knows them. */
    static java.util.Set<String> removedNodes(Map<String, Connection> conns) throws SQLException {
        java.util.Set<String> removed = new java.util.TreeSet<>();
        for (Connection conn : conns.values()) {
            removed.addAll(ControlSchema.removedNodes(conn));
        }
        return removed;
    }

    private static List<String> removedAndNotReloaded(MeshConfig config, Map<String, Connection> conns,
                                                      List<NodeConfig> loads) throws SQLException {
        java.util.Set<String> removed = removedNodes(conns);
        List<String> refusals = new ArrayList<>();
        for (NodeConfig n : config.nodes()) {
            if (removed.contains(n.name()) && !loads.contains(n)) {
                refusals.add(n.name() + " was removed from the mesh (pgmesh remove-node) and its rows no longer follow"
                        + " the others: take it out of the mesh file, or empty its replicated tables so that init"
                        + " loads it again from initial-load.from");
            }
        }
        return refusals;
    }

    /**
     * The nodes besides the seed that already send to it: the rows they wrote reach the seed
     * over their slot toward it, and whatever of theirs the seed's snapshot lacks must reach
     * the loaded node too. A node whose slot toward the seed is gone although the seed applied
     * from it cannot be handed off: that is a broken mesh to heal first.
     */
    private static List<NodeConfig> runningPeers(MeshConfig config, Map<String, Connection> conns, NodeConfig seed,
                                                 NodeConfig target, List<NodeConfig> loads, List<NodeConfig> reloads,
                                                 List<String> refusals) throws SQLException {
        List<NodeConfig> peers = new ArrayList<>();
        for (NodeConfig peer : config.nodes()) {
            if (peer.equals(seed) || peer.equals(target) || loads.contains(peer) || reloads.contains(peer)) {
                continue;
            }
            Connection conn = conns.get(peer.name());
            String toSeed = Names.slot(peer.name(), seed.name());
            String toTarget = Names.slot(peer.name(), target.name());
            if (MeshState.slotExists(conn, toSeed)) {
                peers.add(peer);
                if (MeshState.slotActive(conn, toTarget)) {
                    refusals.add(peer.name() + ": slot " + toTarget + " is in use (is pgmesh run with the new mesh"
                            + " file running?); stop it, run init, then start run again");
                }
            } else if (!MeshState.originProgress(conns.get(seed.name()), Names.origin(peer.name())).isZero()) {
                refusals.add(peer.name() + ": slot " + toSeed + " is missing although " + seed.name() + " has applied"
                        + " from it, so " + peer.name() + "'s changes cannot be handed to " + target.name()
                        + "; resync " + seed.name() + " from " + peer.name() + " first");
            }
        }
        return peers;
    }

    /**
     * A node is loaded only while nothing but the load has been applied to it: rows another
     * node's task wrote there would be emptied by a reload, or mixed into a load.
     */
    private static List<String> appliedFromOthers(Connection target, NodeConfig node, NodeConfig seed)
            throws SQLException {
        if (!Sql.queryBool(target, "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL")) {
            return List.of();
        }
        List<String> from = Sql.queryColumn(target, "SELECT source_node FROM pgmesh.task_progress"
                + " WHERE source_node <> ? AND last_commit_lsn <> '0/0' ORDER BY 1", seed.name());
        if (from.isEmpty()) {
            return List.of();
        }
        return List.of(node.name() + " has already applied changes from " + String.join(", ", from)
                + ", so it is not a new node and is not loaded (its rows would be emptied or mixed with the load);"
                + " to rebuild it, remove its rows and pgmesh schema first (pgmesh teardown), then run init");
    }

    private static List<String> nonEmpty(Connection target, List<TableName> tables) throws SQLException {
        List<String> nonEmpty = new ArrayList<>();
        for (TableName t : tables) {
            if (Sql.queryBool(target, "SELECT to_regclass(?) IS NOT NULL", t.quoted())
                    && Sql.queryBool(target, "SELECT EXISTS (SELECT 1 FROM " + t.quoted() + ")")) {
                nonEmpty.add(t.toString());
            }
        }
        return nonEmpty;
    }

    /**
     * A node to be loaded must not send anything yet: its own slots are created after its rows are
     * in (so the loaded rows never travel back). Slots it already has are dropped first, which is
     * only harmless when no node has applied anything from them.
     */
    private static List<String> outgoingInUse(MeshConfig config, Map<String, Connection> conns, NodeConfig node)
            throws SQLException {
        Map<String, String> problems = new LinkedHashMap<>();
        for (TaskSpec t : Topology.mesh(config)) {
            if (!t.source().equals(node)) {
                continue;
            }
            Connection src = conns.get(node.name());
            if (MeshState.slotActive(src, t.slotName())) {
                problems.put(t.slotName(), node.name() + ": slot " + t.slotName() + " is in use (is pgmesh run running?);"
                        + " stop it, then run init again");
            } else if (!MeshState.originProgress(conns.get(t.target().name()), t.originName()).isZero()) {
                problems.put(t.slotName(), node.name() + " has already replicated to " + t.target().name()
                        + ", so it is not a new node and is not loaded");
            }
        }
        return List.copyOf(problems.values());
    }
}
