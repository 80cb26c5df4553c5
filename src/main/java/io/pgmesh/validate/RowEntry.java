package io.pgmesh.validate;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One key of a table as a node holds it, in the order every node streams them.
 *
 * @param hash     md5 of the key's text: the order of the stream, and its first digits are the bucket
 * @param keyText  the key as one text, {@code ROW(k1, k2)::text}; unique within a table
 * @param keyParts each key column's value as text, to find the row again
 * @param image    what is compared: the row's md5 (keyed tables) or how many times the row occurs
 *                 (tables compared as a multiset of rows)
 */
public record RowEntry(String hash, String keyText, List<String> keyParts, String image) {

    /**
     * Hash, then key text by its UTF-8 bytes: the order of {@code ORDER BY kh COLLATE "C", kt COLLATE "C"}
     * on a UTF-8 database, whatever the locale of the node, so that every node's stream agrees.
     */
    public static final Comparator<RowEntry> ORDER = Comparator.comparing(RowEntry::hash)
            .thenComparing((a, b) -> Arrays.compareUnsigned(a.keyText.getBytes(StandardCharsets.UTF_8),
                    b.keyText.getBytes(StandardCharsets.UTF_8)));

    public RowEntry {
        keyParts = List.copyOf(keyParts);
    }
}
