package io.pgmesh.check;

import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A replicated table must exist on every node, unless init will create it: the mesh names an
 * initial-load source that has it, and the node lacking it is not that source.
 */
final class TablePresenceCheck {

    private TablePresenceCheck() {
    }

    static List<Finding> check(MeshTables mesh) {
        String source = mesh.mesh().initialLoadFrom();
        List<Finding> findings = new ArrayList<>();
        for (TableName table : mesh.tables()) {
            List<String> without = mesh.nodesWithout(table);
            if (without.isEmpty() || !mesh.replicatedAnywhere(table)) {
                continue;
            }
            Map<String, TableInfo> versions = mesh.versions(table);
            String on = String.join(", ", versions.keySet());
            String missing = String.join(", ", without);
            if (source != null && versions.containsKey(source)) {
                TableName parent = versions.get(source).partitionOf();
                findings.add(Finding.warning(null, "table_missing", "table " + table + " is missing on " + missing
                                + "; init will create it there from " + source
                                + (parent == null ? "" : ", as a partition of " + parent + " (and " + parent
                                + " where it is missing too)"),
                        "the initial load copies the table's definition and rows from " + source + " to nodes that"
                                + " lack it",
                        "nothing to do before init; to keep the table out of the mesh instead, list it under"
                                + " tables.exclude in the mesh file"));
                for (String node : without) {
                    CreateRights rights = mesh.rights(node);
                    String role = mesh.mesh().node(node).user();
                    String db = io.pgmesh.pg.Ident.quote(mesh.mesh().node(node).database());
                    if (rights != null) {
                        rights.deniedIn(table.schema(), role).ifPresent(fix -> findings.add(Finding.error(node,
                                "create_table", "role " + role + " may not create table " + table + " on " + node
                                        + ", which init would create there",
                                "the initial load creates the tables a node lacks before copying their rows",
                                "as a superuser or the schema's owner: " + fix.replace("<database>", db))));
                    }
                }
            } else {
                findings.add(Finding.error(null, "table_missing", "table " + table + " exists on " + on
                                + " but is missing on " + missing,
                        "a change to it on " + on + " has nowhere to go on " + missing + ": the tasks to " + missing
                                + " would stop at the first one",
                        "create it on " + missing + " with the same columns and primary key (for example"
                                + " pg_dump --schema-only --table=" + table.quoted() + " on " + versions.keySet()
                                .iterator().next() + ", replayed on " + missing + "), or set initial-load.from to a"
                                + " node that has it so that init creates it, or list it under tables.exclude"));
            }
        }
        return findings;
    }
}
