package io.pgmesh.check;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Resolutions that can leave nodes different: keep-local and apply-remote decide by the order in
 * which a node sees two changes. (last-update-wins and first-update-wins decide alike on every
 * node, whatever that order.) Read from the mesh file alone.
 */
final class ConflictResolutionCheck {

    private ConflictResolutionCheck() {
    }

    static List<Finding> check(ConflictSettings settings) {
        List<Finding> findings = new ArrayList<>();
        if (settings.resolution().orderDependent()) {
            findings.add(finding(settings.resolution(), "conflicts.resolution", "every table without an override"));
        }
        for (Map.Entry<String, Rule> e : settings.tables().entrySet()) {
            if (e.getValue().orderDependent()) {
                findings.add(finding(e.getValue(), "conflicts.tables." + e.getKey(), "table " + e.getKey()));
            }
        }
        return findings;
    }

    private static Finding finding(Rule rule, String key, String what) {
        String why = switch (rule) {
            case KEEP_LOCAL -> "when two nodes change the same row at about the same time, each keeps its own"
                    + " version and drops the other's, so the nodes stay different until the row is written again";
            default -> "when two nodes change the same row at about the same time, each applies the other's"
                    + " version over its own, so the nodes swap values and stay different";
        };
        return Finding.warning(null, "conflict_resolution", key + " is " + rule.label() + " for " + what
                        + ": nodes can end with different rows", why,
                "use last-update-wins (the default), which every node decides alike whatever the order of arrival,"
                        + " or error to stop at each conflict; keep " + rule.label()
                        + " only for tables where a difference between nodes is acceptable");
    }
}
