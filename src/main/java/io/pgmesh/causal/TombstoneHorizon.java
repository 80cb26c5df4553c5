package io.pgmesh.causal;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Up to when a node's tombstones of each origin may go. A tombstone records a delete made on
 * node O at time T (O's clock). It is needed only while a change that is concurrent with that
 * delete can still arrive: one made on some node X before X had applied the delete. Each node's
 * changes come in the order it made them, with its beacons ("applied O through t") among them, so
 * once this node has applied X's stream up to a beacon with {@code t >= T}, everything X made
 * before seeing the delete is here. The delete's own node, and this node (where the tombstone
 * already stands), make no such change.
 *
 * <p>So the horizon of origin O on node N is the earliest of what every other node X (X not N,
 * not O) had seen of O, as N last heard from X ({@code pgmesh.task_progress.seen}). A node N has
 * not heard from holds it back: a node that is down stops pruning rather than risk a tombstone
 * that its late change still needs.
 */
public final class TombstoneHorizon {

    /**
     * Per origin node: the horizon, or why there is none.
     *
     * @param through   tombstones of this origin committed at or before it may go; {@link Instant#MAX}
     *                  when no third node can send a concurrent change; null when held back
     * @param heldBackBy the node bounding the horizon (the one that saw least of the origin), or null
     */
    public record Origin(Instant through, String heldBackBy) {
    }

    private TombstoneHorizon() {
    }

    /**
     * @param self      the node whose tombstones these are
     * @param nodes     every node of the mesh
     * @param heardFrom per other node, what it had seen as this node last heard (absent: never heard)
     */
    public static Map<String, Origin> of(String self, List<String> nodes, Map<String, Seen> heardFrom) {
        Map<String, Origin> horizons = new LinkedHashMap<>();
        for (String origin : nodes) {
            Instant through = Instant.MAX;
            String bound = null;
            for (String x : nodes) {
                if (x.equals(self) || x.equals(origin)) {
                    continue;
                }
                Seen seen = heardFrom.get(x);
                Instant t = seen == null ? null : seen.asMap().get(origin);
                if (t == null) {
                    through = null;
                    bound = x;
                    break;
                }
                if (t.isBefore(through)) {
                    through = t;
                    bound = x;
                }
            }
            horizons.put(origin, new Origin(through, bound));
        }
        return horizons;
    }
}
