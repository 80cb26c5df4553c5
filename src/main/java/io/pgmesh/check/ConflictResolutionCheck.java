package io.pgmesh.check;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.Rule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Resolutions that can leave nodes different: keep-local and apply-remote decide by the order in
 * which a node sees two changes; first-update-wins is not transitive once a node changes a row
 * again before another node's concurrent change arrives. Read from the mesh file alone.
 */
final class ConflictResolutionCheck {

    private ConflictResolutionCheck() {
    }

    static List<Finding> check(ConflictSettings settings) {
        List<Finding> findings = new ArrayList<>();
        if (risky(settings.resolution())) {
            findings.add(finding(settings.resolution(), "conflicts.resolution", "every table without an override"));
        }
        for (Map.Entry<String, Rule> e : settings.tables().entrySet()) {
            if (risky(e.getValue())) {
                findings.add(finding(e.getValue(), "conflicts.tables." + e.getKey(), "table " + e.getKey()));
            }
        }
        return findings;
    }

    private static boolean risky(Rule rule) {
        return rule.orderDependent() || rule == Rule.FIRST_UPDATE_WINS;
    }

    private static Finding finding(Rule rule, String key, String what) {
        String why = switch (rule) {
            case KEEP_LOCAL -> "when two nodes change the same row at about the same time, each keeps its own"
                    + " version and drops the other's, so the nodes stay different until the row is written again";
            case APPLY_REMOTE -> "when two nodes change the same row at about the same time, each applies the other's"
                    + " version over its own, so the nodes swap values and stay different";
            default -> "changes made after seeing another node's version apply, but when a node changes a row"
                    + " again before another node's concurrent change of it arrives, that node compares the"
                    + " older remote change with its newer version and keeps the remote one, while the other"
                    + " nodes keep its newer version: the nodes stay different until the row is written again";
        };
        return Finding.warning(null, "conflict_resolution", key + " is " + rule.label() + " for " + what
                        + ": nodes can end with different rows", why,
                "use last-update-wins (the default), which every node decides alike whatever the order of arrival,"
                        + " or error to stop at each conflict; keep " + rule.label()
                        + " only for tables where a difference between nodes is acceptable");
    }
}
