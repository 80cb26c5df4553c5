package io.pgmesh.apply;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgmesh.wal.TupleData;

/** A tuple as a JSON object of column name to text value, for the conflict log. */
final class RowImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RowImage() {
    }

    static String of(TableMapping m, TupleData tuple, int[] indexes) {
        ObjectNode node = JSON.createObjectNode();
        for (int i : indexes) {
            switch (tuple.kind(i)) {
                case NULL -> node.putNull(m.columns()[i]);
                case TEXT -> node.put(m.columns()[i], tuple.text(i));
                case UNCHANGED_TOAST -> { } // unchanged and not sent: nothing to show
                case BINARY -> node.put(m.columns()[i], "(binary)");
            }
        }
        return node.toString();
    }

    static String of(TableMapping m, TupleData tuple) {
        int[] all = new int[tuple.size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return of(m, tuple, all);
    }
}
