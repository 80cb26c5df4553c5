package io.pgmesh.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads the {@code conflicts} section of the mesh file, reporting every problem under its key. */
final class ConflictSettingsReader {
    private static final Set<String> KEYS = Set.of("resolution", "tables", "on-error");
    /** schema.table with no glob: an override names one table. */
    private static final Pattern TABLE = Pattern.compile("[^.*?\\[\\]]+\\.[^.*?\\[\\]]+");

    private final Fields fields;

    ConflictSettingsReader(Fields fields) {
        this.fields = fields;
    }

    /** The settings under {@code conflicts}, the defaults when the key is absent, null after a problem. */
    ConflictSettings read(Map<?, ?> top) {
        if (!top.containsKey("conflicts")) {
            return ConflictSettings.defaults();
        }
        Problems problems = fields.problems();
        if (!(top.get("conflicts") instanceof Map<?, ?> map)) {
            problems.add("conflicts", "expected a mapping with the keys resolution, tables and on-error, got "
                    + Fields.describe(top.get("conflicts")));
            return null;
        }
        int before = problems.count();
        fields.rejectUnknownKeys(map, "conflicts", KEYS);
        ConflictSettings.Rule resolution = map.containsKey("resolution")
                ? rule(map.get("resolution"), "conflicts.resolution") : ConflictSettings.Rule.LAST_UPDATE_WINS;
        Map<String, ConflictSettings.Rule> tables = tables(map);
        ConflictSettings.OnError onError = map.containsKey("on-error") ? onError(map.get("on-error"))
                : ConflictSettings.OnError.STOP;
        return problems.count() > before ? null : new ConflictSettings(resolution, tables, onError);
    }

    private Map<String, ConflictSettings.Rule> tables(Map<?, ?> conflicts) {
        Map<String, ConflictSettings.Rule> tables = new LinkedHashMap<>();
        if (!conflicts.containsKey("tables")) {
            return tables;
        }
        Object raw = conflicts.get("tables");
        if (!(raw instanceof Map<?, ?> map)) {
            fields.problems().add("conflicts.tables", "expected a mapping of schema.table to a resolution, got "
                    + Fields.describe(raw));
            return tables;
        }
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String path = Fields.child("conflicts.tables", e.getKey());
            if (!(e.getKey() instanceof String table) || !TABLE.matcher(table).matches()) {
                fields.problems().add(path, "expected one table as schema.table, such as public.accounts, got "
                        + Fields.describe(e.getKey()));
                continue;
            }
            ConflictSettings.Rule rule = rule(e.getValue(), path);
            if (rule != null) {
                tables.put(table, rule);
            }
        }
        return tables;
    }

    private ConflictSettings.Rule rule(Object raw, String path) {
        String label = fields.string(raw, path, "one of " + ConflictSettings.Rule.allowed(), false);
        if (label == null) {
            return null;
        }
        return ConflictSettings.Rule.of(label).orElseGet(() -> {
            fields.problems().add(path, "expected one of " + ConflictSettings.Rule.allowed() + ", got "
                    + Fields.quote(label));
            return null;
        });
    }

    private ConflictSettings.OnError onError(Object raw) {
        String label = fields.string(raw, "conflicts.on-error", "stop or skip", false);
        if (label == null) {
            return null;
        }
        for (ConflictSettings.OnError o : ConflictSettings.OnError.values()) {
            if (o.label().equals(label)) {
                return o;
            }
        }
        fields.problems().add("conflicts.on-error", "expected stop or skip, got " + Fields.quote(label));
        return null;
    }
}
