package io.pgmesh.check;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The selected tables of every node that could be read, in the mesh file's node order: what the
 * checks that compare nodes work on. A node that could not be reached is simply absent.
 */
final class MeshTables {

    private final MeshConfig mesh;
    private final Map<String, Map<TableName, TableInfo>> byNode = new LinkedHashMap<>();
    private final Map<String, CreateRights> rights = new LinkedHashMap<>();

    MeshTables(MeshConfig mesh) {
        this.mesh = mesh;
    }

    MeshConfig mesh() {
        return mesh;
    }

    void put(String node, Map<TableName, TableInfo> tables) {
        byNode.put(node, tables);
    }

    void rights(String node, CreateRights rights) {
        this.rights.put(node, rights);
    }

    /** Where the mesh's role may create on {@code node}; null when that could not be read. */
    CreateRights rights(String node) {
        return rights.get(node);
    }

    /** The nodes that were read, in mesh order. */
    List<String> nodes() {
        return List.copyOf(byNode.keySet());
    }

    /** Every table some node has. */
    Set<TableName> tables() {
        Set<TableName> all = new TreeSet<>();
        byNode.values().forEach(t -> all.addAll(t.keySet()));
        return all;
    }

    /** The table as each node that has it has it, in mesh order. */
    Map<String, TableInfo> versions(TableName table) {
        Map<String, TableInfo> v = new LinkedHashMap<>();
        byNode.forEach((node, tables) -> {
            TableInfo t = tables.get(table);
            if (t != null) {
                v.put(node, t);
            }
        });
        return v;
    }

    /** The read nodes that do not have the table at all. */
    List<String> nodesWithout(TableName table) {
        List<String> without = new ArrayList<>();
        byNode.forEach((node, tables) -> {
            if (!tables.containsKey(table)) {
                without.add(node);
            }
        });
        return without;
    }

    /** True when some node would publish the table: the cross-node checks only care about those. */
    boolean replicatedAnywhere(TableName table) {
        return versions(table).values().stream().anyMatch(TableInfo::replicated);
    }
}
