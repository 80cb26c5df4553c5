package io.pgmesh.apply;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Prepared statements of one apply session, by shape. A shape is the relation plus which columns
 * the statement sets and matches; the driver turns them into server-side prepared statements.
 */
final class StatementCache implements AutoCloseable {
    private final Connection conn;
    private final Map<String, PreparedStatement> statements = new HashMap<>();

    StatementCache(Connection conn) {
        this.conn = conn;
    }

    Connection connection() {
        return conn;
    }

    PreparedStatement get(String shape, Supplier<String> sql) throws SQLException {
        PreparedStatement ps = statements.get(shape);
        if (ps == null) {
            ps = conn.prepareStatement(sql.get());
            statements.put(shape, ps);
        }
        return ps;
    }

    /** Drops the statements of a relation whose definition changed. */
    void invalidate(int relationId) {
        String prefix = relationId + ":";
        for (Iterator<Map.Entry<String, PreparedStatement>> it = statements.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, PreparedStatement> e = it.next();
            if (e.getKey().startsWith(prefix)) {
                closeQuietly(e.getValue());
                it.remove();
            }
        }
    }

    @Override
    public void close() {
        statements.values().forEach(StatementCache::closeQuietly);
        statements.clear();
    }

    private static void closeQuietly(PreparedStatement ps) {
        try {
            ps.close();
        } catch (SQLException ignored) {
            // the connection is going away or already gone
        }
    }
}
