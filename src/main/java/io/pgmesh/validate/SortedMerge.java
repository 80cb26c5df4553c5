package io.pgmesh.validate;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Walks the sorted row streams of every node side by side, holding one row per node, and yields
 * the keys whose images differ: a key missing on some node, extra on some node, or with another
 * row image. Memory is the candidates kept (at most {@code limit}), whatever the table's size.
 */
public final class SortedMerge {

    /**
     * @param candidates the first {@code limit} differing keys, in stream order
     * @param differing  how many keys differed in all
     */
    public record Result(List<Candidate> candidates, long differing) {
    }

    private SortedMerge() {
    }

    /** @param cursors per node name, in mesh order, that node's stream in {@link RowEntry#ORDER} */
    public static Result merge(Map<String, RowCursor> cursors, int limit) throws SQLException {
        Map<String, RowEntry> heads = new LinkedHashMap<>();
        for (Map.Entry<String, RowCursor> c : cursors.entrySet()) {
            heads.put(c.getKey(), c.getValue().next());
        }
        List<Candidate> candidates = new ArrayList<>();
        long differing = 0;
        while (true) {
            RowEntry least = null;
            for (RowEntry head : heads.values()) {
                if (head != null && (least == null || RowEntry.ORDER.compare(head, least) < 0)) {
                    least = head;
                }
            }
            if (least == null) {
                return new Result(candidates, differing);
            }
            Map<String, String> images = new LinkedHashMap<>();
            for (Map.Entry<String, RowEntry> h : heads.entrySet()) {
                RowEntry head = h.getValue();
                boolean here = head != null && RowEntry.ORDER.compare(head, least) == 0;
                images.put(h.getKey(), here ? head.image() : null);
                if (here) {
                    h.setValue(next(cursors.get(h.getKey()), head));
                }
            }
            if (!Candidate.allEqual(images)) {
                differing++;
                if (candidates.size() < limit) {
                    candidates.add(new Candidate(least, images));
                }
            }
        }
    }

    /** The row after {@code previous}; a stream out of order would make every later key look missing, so it is refused. */
    private static RowEntry next(RowCursor cursor, RowEntry previous) throws SQLException {
        RowEntry next = cursor.next();
        if (next != null && RowEntry.ORDER.compare(next, previous) <= 0) {
            throw new IllegalStateException("row stream out of order: " + next.keyText() + " after " + previous.keyText());
        }
        return next;
    }
}
