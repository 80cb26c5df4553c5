package io.pgmesh.config;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The mesh: its nodes and the tables they replicate. Built and validated by
 * {@link MeshConfigLoader}; immutable.
 *
 * @param nodes  the nodes, in the order of the mesh file
 * @param tables which tables are replicated
 * @param initialLoadFrom the node whose rows seed empty nodes ({@code initial-load.from}), or null
 * @param conflicts how conflicts are resolved and what an unresolvable change does
 * @param monitor how a run process is watched (HTTP, health bound, slot safety)
 * @param replicateDdl {@code ddl.replicate}: schema changes made on a node reach the others by themselves
 */
public record MeshConfig(List<NodeConfig> nodes, TableSelection tables, String initialLoadFrom,
                         ConflictSettings conflicts, MonitorSettings monitor, boolean replicateDdl) {

    public MeshConfig {
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(tables, "tables");
        Objects.requireNonNull(conflicts, "conflicts");
        Objects.requireNonNull(monitor, "monitor");
    }

    public MeshConfig(List<NodeConfig> nodes, TableSelection tables, String initialLoadFrom,
                      ConflictSettings conflicts, MonitorSettings monitor) {
        this(nodes, tables, initialLoadFrom, conflicts, monitor, true);
    }

    public MeshConfig(List<NodeConfig> nodes, TableSelection tables, String initialLoadFrom,
                      ConflictSettings conflicts) {
        this(nodes, tables, initialLoadFrom, conflicts, MonitorSettings.defaults());
    }

    public MeshConfig(List<NodeConfig> nodes, TableSelection tables, String initialLoadFrom) {
        this(nodes, tables, initialLoadFrom, ConflictSettings.defaults());
    }

    public MeshConfig(List<NodeConfig> nodes, TableSelection tables) {
        this(nodes, tables, null);
    }

    /** The same mesh with other conflict settings. */
    public MeshConfig withConflicts(ConflictSettings settings) {
        return new MeshConfig(nodes, tables, initialLoadFrom, settings, monitor, replicateDdl);
    }

    /** The same mesh with other monitoring settings. */
    public MeshConfig withMonitor(MonitorSettings settings) {
        return new MeshConfig(nodes, tables, initialLoadFrom, conflicts, settings, replicateDdl);
    }

    /** The node named by {@code initial-load.from}, if the mesh file has one. */
    public java.util.Optional<NodeConfig> initialLoadSource() {
        return initialLoadFrom == null ? java.util.Optional.empty() : java.util.Optional.of(node(initialLoadFrom));
    }

    /**
     * The node called {@code name}.
     *
     * @throws IllegalArgumentException if the mesh has no such node
     */
    public NodeConfig node(String name) {
        for (NodeConfig node : nodes) {
            if (node.name().equals(name)) {
                return node;
            }
        }
        String known = nodes.stream().map(NodeConfig::name).collect(Collectors.joining(", "));
        throw new IllegalArgumentException("no node named \"" + name + "\" in the mesh (nodes: " + known + ")");
    }
}
