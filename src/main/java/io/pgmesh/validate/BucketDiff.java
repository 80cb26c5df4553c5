package io.pgmesh.validate;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The buckets whose summaries are not the same on every node; a bucket a node lacks is empty there. */
public final class BucketDiff {
    private BucketDiff() {
    }

    /** @param perNode per node name, its non-empty buckets by name */
    public static Set<String> differing(Map<String, Map<String, BucketSummary>> perNode) {
        Set<String> all = new TreeSet<>();
        perNode.values().forEach(m -> all.addAll(m.keySet()));
        Set<String> differing = new TreeSet<>();
        for (String bucket : all) {
            BucketSummary first = null;
            boolean firstSeen = false;
            for (Map<String, BucketSummary> node : perNode.values()) {
                BucketSummary s = node.get(bucket);
                if (!firstSeen) {
                    first = s;
                    firstSeen = true;
                } else if (s == null ? first != null : !s.equals(first)) {
                    differing.add(bucket);
                    break;
                }
            }
        }
        return differing;
    }

    /** Rows of one node: the sum of its buckets' counts. */
    public static long rows(Map<String, BucketSummary> buckets) {
        return buckets.values().stream().mapToLong(BucketSummary::rows).sum();
    }
}
