package io.pgmesh.validate;

import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What is compared of one table: the columns every node has (by name, in name order, so column
 * order on a node does not matter), and the key to match rows by. Without one key shared by every
 * node the table is compared as a multiset of whole rows.
 *
 * @param columns the compared columns, sorted by name
 * @param key     the key columns, sorted by name; empty for a multiset comparison
 * @param notes   what is left out of the comparison, and why
 */
public record TableShape(TableName table, List<String> columns, List<String> key, List<String> notes) {

    public TableShape {
        columns = List.copyOf(columns);
        key = List.copyOf(key);
        notes = List.copyOf(notes);
    }

    public boolean keyed() {
        return !key.isEmpty();
    }

    /** @param perNode per node name, in mesh order, the table as that node has it */
    public static TableShape of(TableName table, Map<String, TableColumns> perNode) {
        Set<String> common = null;
        Map<String, List<String>> ordinaryOn = new TreeMap<>();
        Map<String, List<String>> generatedOn = new TreeMap<>();
        for (Map.Entry<String, TableColumns> e : perNode.entrySet()) {
            Set<String> ordinary = new TreeSet<>();
            for (TableColumns.Column c : e.getValue().columns()) {
                (c.generated() ? generatedOn : ordinaryOn).computeIfAbsent(c.name(), k -> new ArrayList<>()).add(e.getKey());
                if (!c.generated()) {
                    ordinary.add(c.name());
                }
            }
            if (common == null) {
                common = ordinary;
            } else {
                common.retainAll(ordinary);
            }
        }
        if (common == null) {
            throw new IllegalArgumentException("no nodes");
        }
        List<String> notes = new ArrayList<>();
        Set<String> all = new TreeSet<>(ordinaryOn.keySet());
        all.addAll(generatedOn.keySet());
        for (String column : all) {
            if (common.contains(column) || (!ordinaryOn.containsKey(column) && generatedOn.get(column).size() == perNode.size())) {
                continue;
            }
            String where = generatedOn.containsKey(column)
                    ? "generated on " + String.join(", ", generatedOn.get(column)) + " (not replicated)"
                    : "only on " + String.join(", ", ordinaryOn.get(column));
            notes.add("column \"" + column + "\" " + where + ", not compared");
        }
        differentTypes(common, perNode, notes);
        differentIndexes(perNode, notes);
        return new TableShape(table, List.copyOf(common), key(perNode, common, notes), notes);
    }

    /** A column every node has but not with one type: compared as text, which may hide or show differences. */
    private static void differentTypes(Set<String> common, Map<String, TableColumns> perNode, List<String> notes) {
        for (String column : common) {
            Map<String, String> types = new LinkedHashMap<>();
            perNode.forEach((node, t) -> types.put(node, t.typeOf(column)));
            if (new java.util.HashSet<>(types.values()).size() > 1) {
                notes.add("column \"" + column + "\" has other types: " + types.entrySet().stream()
                        .map(e -> e.getValue() + " on " + e.getKey()).collect(Collectors.joining(", ")));
            }
        }
    }

    private static void differentIndexes(Map<String, TableColumns> perNode, List<String> notes) {
        Set<String> all = new TreeSet<>();
        perNode.values().forEach(t -> all.addAll(t.indexes()));
        for (String index : all) {
            List<String> lacking = perNode.entrySet().stream().filter(e -> !e.getValue().indexes().contains(index))
                    .map(Map.Entry::getKey).toList();
            if (!lacking.isEmpty()) {
                notes.add(index + " is missing on " + String.join(", ", lacking));
            }
        }
    }

    private static List<String> key(Map<String, TableColumns> perNode, Set<String> common, List<String> notes) {
        Map<String, List<String>> keys = new LinkedHashMap<>();
        perNode.forEach((node, t) -> keys.put(node, t.key().stream().sorted().toList()));
        Set<List<String>> distinct = new java.util.HashSet<>(keys.values());
        if (distinct.size() == 1) {
            List<String> key = distinct.iterator().next();
            if (key.isEmpty()) {
                notes.add("no key: rows compared as a multiset of whole rows");
                return key;
            }
            if (common.containsAll(key)) {
                return key;
            }
        }
        notes.add("key differs (" + keys.entrySet().stream()
                .map(e -> e.getKey() + ": " + (e.getValue().isEmpty() ? "none" : String.join(", ", e.getValue())))
                .collect(Collectors.joining("; ")) + "): rows compared as a multiset of whole rows");
        return List.of();
    }
}
