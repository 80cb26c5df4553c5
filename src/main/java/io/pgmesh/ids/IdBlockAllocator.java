package io.pgmesh.ids;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Set;

/**
 * Numbers from a central counter, a block at a time: {@code pgmesh.id_block(name, size)} on one
 * node hands this allocator {@code size} numbers nobody else gets, and {@link #next()} gives them
 * out in order without a round trip. Thread-safe.
 *
 * <p>Numbers are unique across every allocator that uses the same name on the same database, but
 * not gap-free: a block that is only partly used when the process ends is lost. Connections come
 * from {@code connections} (e.g. {@code dataSource::getConnection}) only to fetch a block, and are
 * closed again at once.
 */
public final class IdBlockAllocator {

    /** Where the central node's connections come from; {@code javax.sql.DataSource::getConnection} fits. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection get() throws SQLException;
    }

    /** SQLSTATEs of a database without the pgmesh schema or without id_block: invalid_schema_name, undefined_function. */
    private static final Set<String> MISSING = Set.of("3F000", "42883");

    private final ConnectionSource connections;
    private final String name;
    private final long blockSize;
    private long next;
    /** Exclusive end of the current block; next == end means empty. */
    private long end;

    public IdBlockAllocator(ConnectionSource connections, String name, long blockSize) {
        this.connections = Objects.requireNonNull(connections, "connections");
        this.name = Objects.requireNonNull(name, "name");
        if (blockSize < 1) {
            throw new IllegalArgumentException("block size must be at least 1, got " + blockSize);
        }
        this.blockSize = blockSize;
    }

    /** The next number; fetches a new block from the central node when the current one is used up. */
    public synchronized long next() throws SQLException {
        if (next == end) {
            fetchBlock();
        }
        return next++;
    }

    private void fetchBlock() throws SQLException {
        try (Connection conn = connections.get()) {
            // The upsert in id_block holds a row lock until commit: with autocommit off it would
            // queue every other caller behind a transaction this allocator never ends.
            if (!conn.getAutoCommit()) {
                conn.setAutoCommit(true);
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT lower(r), upper(r) FROM pgmesh.id_block(?, ?) AS r")) {
                ps.setString(1, name);
                ps.setLong(2, blockSize);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    next = rs.getLong(1);
                    end = rs.getLong(2);
                }
            }
        } catch (SQLException e) {
            String why = MISSING.contains(e.getSQLState())
                    ? "pgmesh.id_block is not installed on this database (pgmesh init or run installs it): "
                    : "";
            throw new SQLException("id block \"" + name + "\": " + why + e.getMessage(), e.getSQLState(), e);
        }
    }
}
