package io.pgmesh.validate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One key that differs between nodes, as a report shows it.
 *
 * @param key    {@code (id)=(42)} for a keyed table; {@code row (1,abc)} for a multiset table
 * @param detail {@code missing on west}, {@code rows differ: east | west}, or for a multiset row
 *               {@code 2 on east, 1 on west}
 */
public record KeyDifference(String key, String detail) {

    /** How a key reads: {@code (a, b)=(1, x)}, like PostgreSQL's own messages. */
    public static String keyed(List<String> columns, List<String> values) {
        return "(" + String.join(", ", columns) + ")=(" + String.join(", ", values) + ")";
    }

    /** @param images per node, in mesh order: the row md5, null where the node has no such row */
    public static String describeKeyed(Map<String, String> images) {
        List<String> missing = new ArrayList<>();
        Map<String, List<String>> groups = new LinkedHashMap<>();
        images.forEach((node, image) -> {
            if (image == null) {
                missing.add(node);
            } else {
                groups.computeIfAbsent(image, k -> new ArrayList<>()).add(node);
            }
        });
        List<String> parts = new ArrayList<>();
        if (!missing.isEmpty()) {
            parts.add("missing on " + String.join(", ", missing));
        }
        if (groups.size() > 1) {
            parts.add("rows differ: " + String.join(" | ", groups.values().stream().map(g -> String.join(", ", g)).toList()));
        }
        return String.join("; ", parts);
    }

    /** @param counts per node, in mesh order: how often the row occurs there, null for never */
    public static String describeMultiset(Map<String, String> counts) {
        List<String> parts = new ArrayList<>();
        counts.forEach((node, count) -> parts.add((count == null ? "0" : count) + " on " + node));
        return String.join(", ", parts);
    }
}
