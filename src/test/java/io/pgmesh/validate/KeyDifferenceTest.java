package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyDifferenceTest {

    private static Map<String, String> images(String... nodeAndImage) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nodeAndImage.length; i += 2) {
            m.put(nodeAndImage[i], nodeAndImage[i + 1]);
        }
        return m;
    }

    @Test
    void keysReadLikePostgresMessages() {
        assertEquals("(id)=(42)", KeyDifference.keyed(List.of("id"), List.of("42")));
        assertEquals("(a, b)=(1, x y)", KeyDifference.keyed(List.of("a", "b"), List.of("1", "x y")));
    }

    @Test
    void keyedDifferencesNameTheNodes() {
        assertEquals("missing on west", KeyDifference.describeKeyed(images("east", "h1", "west", null)));
        assertEquals("rows differ: east | west", KeyDifference.describeKeyed(images("east", "h1", "west", "h2")));
        assertEquals("missing on north; rows differ: east | west",
                KeyDifference.describeKeyed(images("east", "h1", "west", "h2", "north", null)));
        assertEquals("rows differ: east, north | west",
                KeyDifference.describeKeyed(images("east", "h1", "west", "h2", "north", "h1")));
    }

    @Test
    void multisetDifferencesGiveCounts() {
        assertEquals("2 on east, 0 on west", KeyDifference.describeMultiset(images("east", "2", "west", null)));
    }
}
