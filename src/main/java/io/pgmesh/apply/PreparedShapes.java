package io.pgmesh.apply;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The server-side prepared statements of one apply session, by shape: the relation plus which
 * columns a statement sets and matches. Each shape is PREPAREd once and then EXECUTEd by name,
 * which lets any mix of statements travel to the server together in one round trip.
 */
final class PreparedShapes {
    /** Makes the connection free for a statement of its own (no batch in flight on it). */
    @FunctionalInterface
    interface Quiesce {
        void run() throws SQLException;
    }

    private final Connection conn;
    private final Quiesce quiesce;
    private final Map<String, String> names = new HashMap<>();
    private int counter;

    PreparedShapes(Connection conn, Quiesce quiesce) {
        this.conn = conn;
        this.quiesce = quiesce;
    }

    Connection connection() {
        return conn;
    }

    /** The prepared statement's name for {@code shape}, preparing {@code sql} on first use. */
    String name(String shape, Supplier<String> sql) throws SQLException {
        String name = names.get(shape);
        if (name == null) {
            name = "pgmesh_" + (++counter);
            quiesce.run();
            try (Statement st = conn.createStatement()) {
                st.execute("PREPARE " + name + " AS " + sql.get());
            }
            names.put(shape, name);
        }
        return name;
    }

    /** Drops the statements of a relation whose definition changed. */
    void invalidate(int relationId) throws SQLException {
        String prefix = relationId + ":";
        quiesce.run();
        try (Statement st = conn.createStatement()) {
            for (Iterator<Map.Entry<String, String>> it = names.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, String> e = it.next();
                if (e.getKey().startsWith(prefix)) {
                    st.execute("DEALLOCATE " + e.getValue());
                    it.remove();
                }
            }
        }
    }
}
