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
 */
public record InitPlan(List<NodeConfig> loads, List<NodeConfig> reloads, List<String> refusals, List<String> notes) {

    public boolean refused() {
        return !refusals.isEmpty();
    }

    /** Plans init for {@code config}; {@code conns} holds one open connection per node name. */
    public static InitPlan of(MeshConfig config, Map<String, Connection> conns) throws SQLException {
        List<NodeConfig> loads = new ArrayList<>();
        List<NodeConfig> reloads = new ArrayList<>();
        List<String> refusals = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (config.initialLoadSource().isEmpty()) {
            return new InitPlan(loads, reloads, refusals, notes);
        }
        NodeConfig source = config.initialLoadSource().get();
        Connection src = conns.get(source.name());
        List<TableName> tables = new ArrayList<>(PublicationManager.selected(src, config.tables()).published());
        for (NodeConfig target : config.nodes()) {
            if (target.equals(source)) {
                continue;
            }
            Connection tgt = conns.get(target.name());
            String state = MeshState.initialLoadState(tgt, source.name()).orElse(null);
            String slot = Names.slot(source.name(), target.name());
            if ("done".equals(state)) {
                notes.add(target.name() + " was loaded from " + source.name() + " before: not loaded again");
            } else if ("loading".equals(state)) {
                if (MeshState.slotActive(src, slot)) {
                    refusals.add(target.name() + ": slot " + slot + " is in use on " + source.name()
                            + " (is pgmesh init or run still running?); stop it, then run init again");
                } else {
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
                loads.add(target);
            }
        }
        return new InitPlan(loads, reloads, refusals, notes);
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
