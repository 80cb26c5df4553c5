package io.pgmesh.config;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The {@code conflicts} section of the mesh file: the resolution every table gets, per-table
 * overrides, and what an unresolvable change does.
 *
 * @param resolution the resolution of tables without an override
 * @param tables     overrides by table, {@code schema.table}
 * @param onError    what a change that cannot be applied does to its task
 */
public record ConflictSettings(Rule resolution, Map<String, Rule> tables, OnError onError) {

    /** The resolutions a mesh file may name. */
    public enum Rule {
        LAST_UPDATE_WINS("last-update-wins"),
        FIRST_UPDATE_WINS("first-update-wins"),
        KEEP_LOCAL("keep-local"),
        APPLY_REMOTE("apply-remote"),
        ERROR("error");

        private final String label;

        Rule(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** True when the outcome depends on the order in which a node sees two changes: nodes can end different. */
        public boolean orderDependent() {
            return this == KEEP_LOCAL || this == APPLY_REMOTE;
        }

        public static Optional<Rule> of(String label) {
            return Arrays.stream(values()).filter(r -> r.label.equals(label)).findFirst();
        }

        static String allowed() {
            return Arrays.stream(values()).map(Rule::label).collect(Collectors.joining(" | "));
        }
    }

    /** What a change that cannot be applied (not a resolvable conflict) does. */
    public enum OnError {
        /** The task stops at that change and holds its position until a person fixes the cause. */
        STOP,
        /** The change is quarantined in pgmesh.apply_errors and replication goes on. */
        SKIP;

        public String label() {
            return name().toLowerCase();
        }
    }

    public ConflictSettings {
        Objects.requireNonNull(resolution, "resolution");
        Objects.requireNonNull(onError, "onError");
        tables = Map.copyOf(tables);
    }

    public static ConflictSettings defaults() {
        return new ConflictSettings(Rule.LAST_UPDATE_WINS, Map.of(), OnError.STOP);
    }

    /** The rule of {@code schema.table}: its override, or the mesh's resolution. */
    public Rule ruleFor(String qualifiedTable) {
        return tables.getOrDefault(qualifiedTable, resolution);
    }
}
