package io.pgmesh.apply;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgmesh.wal.TupleData;

/** A tuple as a JSON object of column name to text value, for the conflict log and the apply errors. */
final class RowImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RowImage() {
    }

    static String of(TableMapping m, TupleData tuple, int[] indexes) {
        return of(m.columns(), tuple, indexes);
    }

    static String of(String[] columns, TupleData tuple, int[] indexes) {
        ObjectNode node = JSON.createObjectNode();
        for (int i : indexes) {
            switch (tuple.kind(i)) {
                case NULL -> node.putNull(columns[i]);
                case TEXT -> node.put(columns[i], tuple.text(i));
                case UNCHANGED_TOAST -> { } // unchanged and not sent: nothing to show
                case BINARY -> node.put(columns[i], "(binary)");
            }
        }
        return node.toString();
    }

    static String of(String[] columns, TupleData tuple) {
        return of(columns, tuple, Shapes.all(tuple.size()));
    }
}
