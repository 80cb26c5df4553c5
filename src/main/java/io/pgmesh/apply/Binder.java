package io.pgmesh.apply;

import io.pgmesh.wal.TupleData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;

/** Binds tuple values as untyped text parameters: the server parses them with each column's input function. */
final class Binder {
    private Binder() {
    }

    /** Binds {@code tuple}'s columns at {@code indexes} from parameter {@code first}; returns the next parameter. */
    static int bind(PreparedStatement ps, int first, TupleData tuple, int[] indexes) throws SQLException {
        int p = first;
        for (int i : indexes) {
            switch (tuple.kind(i)) {
                case NULL -> ps.setNull(p, Types.OTHER);
                case TEXT -> ps.setObject(p, tuple.text(i), Types.OTHER);
                default -> throw new IllegalStateException("column " + i + " has no value to bind (" + tuple.kind(i) + ")");
            }
            p++;
        }
        return p;
    }
}
