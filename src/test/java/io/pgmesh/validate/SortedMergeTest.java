package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SortedMergeTest {

    private static RowEntry row(String hash, String key, String image) {
        return new RowEntry(hash, key, List.of(key), image);
    }

    private static RowCursor cursor(RowEntry... rows) {
        Iterator<RowEntry> it = List.of(rows).iterator();
        return () -> it.hasNext() ? it.next() : null;
    }

    private static SortedMerge.Result merge(RowCursor east, RowCursor west, int limit) throws Exception {
        Map<String, RowCursor> cursors = new LinkedHashMap<>();
        cursors.put("east", east);
        cursors.put("west", west);
        return SortedMerge.merge(cursors, limit);
    }

    private static Map<String, String> images(String east, String west) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("east", east);
        m.put("west", west);
        return m;
    }

    @Test
    void equalStreamsHaveNoCandidates() throws Exception {
        SortedMerge.Result r = merge(cursor(row("a", "1", "x"), row("b", "2", "y")),
                cursor(row("a", "1", "x"), row("b", "2", "y")), 10);
        assertEquals(0, r.differing(), "the same rows on both nodes differ nowhere");
        assertEquals(List.of(), r.candidates());
    }

    @Test
    void missingExtraAndChangedKeysAreFoundWithTheirImages() throws Exception {
        SortedMerge.Result r = merge(
                cursor(row("a", "1", "x"), row("b", "2", "y"), row("d", "4", "w")),
                cursor(row("a", "1", "x"), row("c", "3", "z"), row("d", "4", "CHANGED")), 10);
        assertEquals(3, r.differing(), "key 2 only on east, key 3 only on west, key 4 changed");
        assertEquals("2", r.candidates().get(0).key().keyText());
        assertEquals(images("y", null), r.candidates().get(0).images(), "key 2 is missing on west");
        assertEquals(images(null, "z"), r.candidates().get(1).images(), "key 3 is missing on east");
        assertEquals(images("w", "CHANGED"), r.candidates().get(2).images(), "key 4 has another row on west");
    }

    @Test
    void anEmptyStreamMakesEveryKeyOfTheOtherMissing() throws Exception {
        SortedMerge.Result r = merge(cursor(), cursor(row("a", "1", "x"), row("b", "2", "y")), 10);
        assertEquals(2, r.differing());
        assertEquals(images(null, "y"), r.candidates().get(1).images());
    }

    @Test
    void equalHashesAreOrderedByTheKeysUtf8Bytes() throws Exception {
        // U+FF21 sorts after U+1F600 in UTF-16 code units but before it in UTF-8 bytes; the nodes
        // sort by bytes (COLLATE "C"), and the merge must agree.
        String bmp = "\uFF21";
        String astral = "\uD83D\uDE00";
        SortedMerge.Result r = merge(cursor(row("a", bmp, "x"), row("a", astral, "y")),
                cursor(row("a", bmp, "x"), row("a", astral, "y")), 10);
        assertEquals(0, r.differing(), "keys with one hash, in byte order on both nodes, match");
    }

    @Test
    void onlyTheFirstCandidatesAreKeptButAllAreCounted() throws Exception {
        List<RowEntry> east = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            east.add(row(String.format("%03d", i), Integer.toString(i), "x"));
        }
        SortedMerge.Result r = merge(cursor(east.toArray(RowEntry[]::new)), cursor(), 5);
        assertEquals(100, r.differing(), "every missing key is counted");
        assertEquals(5, r.candidates().size(), "memory holds only the limit");
    }

    @Test
    void aStreamOutOfOrderIsRefused() {
        assertThrows(IllegalStateException.class, () -> merge(cursor(row("b", "2", "x"), row("a", "1", "x")), cursor(), 10),
                "a stream out of order would make keys look missing, so it must fail loudly");
    }
}
