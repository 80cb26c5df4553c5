package io.pgmesh.check;

import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A replicated table must have the same columns (by name, with the same types) and the same
 * primary key on every node that has it. Column order does not matter: apply maps columns by name.
 */
final class TableShapeCheck {

    private TableShapeCheck() {
    }

    static List<Finding> check(MeshTables mesh) {
        List<Finding> findings = new ArrayList<>();
        for (TableName table : mesh.tables()) {
            Map<String, TableInfo> versions = mesh.versions(table);
            if (versions.size() < 2 || !mesh.replicatedAnywhere(table)) {
                continue;
            }
            String refNode = reference(mesh, versions);
            TableInfo ref = versions.get(refNode);
            List<String> differences = new ArrayList<>();
            versions.forEach((node, t) -> {
                if (!node.equals(refNode)) {
                    differences.addAll(differences(refNode, ref, node, t));
                }
            });
            List<String> indexDifferences = new ArrayList<>();
            versions.forEach((node, t) -> {
                if (!node.equals(refNode)) {
                    indexDifferences.addAll(indexDifferences(refNode, ref, node, t));
                }
            });
            if (!indexDifferences.isEmpty()) {
                findings.add(Finding.warning(null, "index_differs", "table " + table + " has other indexes on some nodes: "
                                + String.join("; ", indexDifferences),
                        "a unique index one node lacks lets that node take rows the others refuse, and a missing"
                                + " index makes the apply of that table slow there",
                        "create or drop the index on the nodes that differ (one node is enough with ddl.replicate:"
                                + " the others get it), unless the difference is meant"));
            }
            if (!differences.isEmpty()) {
                findings.add(Finding.error(null, "table_shape", "table " + table + " differs between nodes: "
                                + String.join("; ", differences),
                        "apply writes each change by column name and finds rows by the primary key: a column missing"
                                + " on a node, a type that cannot hold the value, or another key makes the task to"
                                + " that node fail or change the wrong row",
                        "ALTER TABLE " + table.quoted() + " on the other nodes so that it matches " + refNode
                                + " (same column names, types and primary key), or list it under tables.exclude"));
            }
        }
        return findings;
    }

    /** The node the others are compared with: the initial-load source when it has the table, else the first. */
    private static String reference(MeshTables mesh, Map<String, TableInfo> versions) {
        String source = mesh.mesh().initialLoadFrom();
        return source != null && versions.containsKey(source) ? source : versions.keySet().iterator().next();
    }

    static List<String> differences(String refNode, TableInfo ref, String node, TableInfo t) {
        List<String> out = new ArrayList<>();
        ref.columnTypes().forEach((column, type) -> {
            String other = t.columnTypes().get(column);
            if (other == null) {
                out.add("column " + column + " is missing on " + node);
            } else if (!other.equals(type)) {
                out.add("column " + column + " is " + type + " on " + refNode + " but " + other + " on " + node);
            }
        });
        t.columnTypes().keySet().stream().filter(c -> !ref.columnTypes().containsKey(c))
                .forEach(c -> out.add("column " + c + " exists on " + node + " but not on " + refNode));
        // Compared as sets: key columns come in column order, and nodes may order their columns differently.
        if (!Set.copyOf(ref.keyColumns()).equals(Set.copyOf(t.keyColumns()))) {
            out.add("primary key is " + key(ref) + " on " + refNode + " but " + key(t) + " on " + node);
        }
        return out;
    }

    static List<String> indexDifferences(String refNode, TableInfo ref, String node, TableInfo t) {
        List<String> out = new ArrayList<>();
        ref.indexes().stream().filter(i -> !t.indexes().contains(i)).forEach(i -> out.add(i + " is missing on " + node));
        t.indexes().stream().filter(i -> !ref.indexes().contains(i))
                .forEach(i -> out.add(i + " exists on " + node + " but not on " + refNode));
        return out;
    }

    private static String key(TableInfo t) {
        return t.keyColumns().isEmpty() ? "none" : "(" + String.join(", ", t.keyColumns()) + ")";
    }
}
