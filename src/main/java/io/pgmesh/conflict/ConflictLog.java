package io.pgmesh.conflict;

import io.pgmesh.pg.Lsn;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * Writes conflicts to {@code pgmesh.conflicts} on the node that resolved them, inside the apply
 * transaction: the record commits exactly when the resolution does.
 */
public final class ConflictLog {
    private static final String INSERT = """
            INSERT INTO pgmesh.conflicts (source_node, target_node, table_name, conflict_type, resolution,
                key_values, local_row, remote_row, local_origin, local_commit_time, remote_commit_time, remote_commit_lsn)
            VALUES (?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?::pg_lsn)
            """;

    /** What is recorded of one conflict: the decision and both row images (JSON text, null when absent). */
    public record Entry(Conflict conflict, Resolution resolution, String keyJson, String localRowJson,
                        String remoteRowJson, Lsn remoteCommitLsn) {
    }

    private final Connection conn;
    private final String targetNode;
    private final java.util.function.Consumer<Entry> recorded;
    private PreparedStatement insert;

    public ConflictLog(Connection conn, String targetNode) {
        this(conn, targetNode, e -> { });
    }

    /** {@code recorded} is told of each entry once its row is written (the metrics count it). */
    public ConflictLog(Connection conn, String targetNode, java.util.function.Consumer<Entry> recorded) {
        this.conn = conn;
        this.targetNode = targetNode;
        this.recorded = recorded;
    }

    public void record(Entry e) throws SQLException {
        if (insert == null) {
            insert = conn.prepareStatement(INSERT);
        }
        Conflict c = e.conflict();
        insert.setString(1, c.remoteNode());
        insert.setString(2, targetNode);
        insert.setString(3, c.table().toString());
        insert.setString(4, c.type().label());
        insert.setString(5, e.resolution().label());
        insert.setString(6, e.keyJson());
        insert.setString(7, e.localRowJson());
        insert.setString(8, e.remoteRowJson());
        insert.setString(9, c.localNode());
        insert.setObject(10, time(c.localCommitTime()));
        insert.setObject(11, time(c.remoteCommitTime()));
        insert.setString(12, e.remoteCommitLsn().toString());
        insert.executeUpdate();
        recorded.accept(e);
    }

    private static Object time(Instant t) {
        return t == null ? null : t.atOffset(ZoneOffset.UTC);
    }
}
