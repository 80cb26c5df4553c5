package io.pgmesh.conflict;

import io.pgmesh.pg.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * Writes changes that could not be applied to {@code pgmesh.apply_errors} on their target, inside
 * the apply transaction: the quarantine commits exactly when the rest of the transaction does.
 */
public final class ApplyErrorLog {
    private static final String INSERT = """
            INSERT INTO pgmesh.apply_errors (source_node, target_node, table_name, operation, key_values, old_row,
                new_row, remote_commit_lsn, remote_commit_time, error, sqlstate)
            VALUES (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::pg_lsn, ?, ?, ?)
            """;

    /**
     * One quarantined change with its row images (JSON text of column name to text value, null when
     * absent) and why it failed.
     */
    public record Entry(String sourceNode, String table, String operation, String keyJson, String oldRowJson,
                        String newRowJson, Lsn remoteCommitLsn, Instant remoteCommitTime, String error, String sqlState) {
    }

    private final Connection conn;
    private final String targetNode;
    private final java.util.function.Consumer<Entry> recorded;
    private PreparedStatement insert;

    public ApplyErrorLog(Connection conn, String targetNode) {
        this(conn, targetNode, e -> { });
    }

    /** {@code recorded} is told of each entry once its row is written (the metrics count it). */
    public ApplyErrorLog(Connection conn, String targetNode, java.util.function.Consumer<Entry> recorded) {
        this.conn = conn;
        this.targetNode = targetNode;
        this.recorded = recorded;
    }

    /** Records {@code e} in the transaction open on the connection. */
    public void record(Entry e) throws SQLException {
        if (insert == null) {
            insert = conn.prepareStatement(INSERT);
        }
        insert.setString(1, e.sourceNode());
        insert.setString(2, targetNode);
        insert.setString(3, e.table());
        insert.setString(4, e.operation());
        insert.setString(5, e.keyJson());
        insert.setString(6, e.oldRowJson());
        insert.setString(7, e.newRowJson());
        insert.setString(8, e.remoteCommitLsn().toString());
        insert.setObject(9, e.remoteCommitTime().atOffset(ZoneOffset.UTC));
        insert.setString(10, e.error());
        insert.setString(11, e.sqlState());
        insert.executeUpdate();
        recorded.accept(e);
    }
}
