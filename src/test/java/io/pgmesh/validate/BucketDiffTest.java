package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BucketDiffTest {

    @Test
    void bucketsDifferByCountBySumAndByAbsence() {
        Map<String, Map<String, BucketSummary>> nodes = new LinkedHashMap<>();
        nodes.put("east", Map.of("00", new BucketSummary(2, "10", "20"), "01", new BucketSummary(1, "5", "6"),
                "02", new BucketSummary(3, "1", "1"), "03", new BucketSummary(1, "7", "7")));
        nodes.put("west", Map.of("00", new BucketSummary(2, "10", "20"), "01", new BucketSummary(1, "5", "-6"),
                "02", new BucketSummary(2, "1", "1"), "04", new BucketSummary(1, "7", "7")));
        assertEquals(Set.of("01", "02", "03", "04"), BucketDiff.differing(nodes),
                "01 differs in a sum, 02 in its count, 03 and 04 exist on one node only; 00 is equal");
        assertEquals(7, BucketDiff.rows(nodes.get("east")));
    }

    @Test
    void threeNodesDifferWhenAnyOneDiffers() {
        BucketSummary s = new BucketSummary(1, "1", "1");
        Map<String, Map<String, BucketSummary>> nodes = new LinkedHashMap<>();
        nodes.put("east", Map.of("aa", s));
        nodes.put("west", Map.of("aa", s));
        nodes.put("north", Map.of());
        assertEquals(Set.of("aa"), BucketDiff.differing(nodes), "north lacks the bucket's row");
    }
}
