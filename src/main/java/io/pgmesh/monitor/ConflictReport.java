package io.pgmesh.monitor;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonRawValue;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The conflicts and quarantined changes of every node since a moment, read from
 * {@code pgmesh.conflicts} and {@code pgmesh.apply_errors}; changes nothing.
 *
 * @param events      both kinds, oldest first
 * @param unreachable one line per node that could not be read
 */
public record ConflictReport(List<Event> events, List<String> unreachable) {

    /**
     * One conflict or quarantined change. {@code id} names an apply error as {@code node:id}, the
     * form {@code pgmesh retry} and {@code pgmesh discard} take.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Event(String kind, String id, String node, @JsonIgnore Instant recordedAt, String sourceNode,
                        String table, String type, @JsonRawValue String key, String resolution, String error,
                        String sqlstate, @JsonRawValue String localRow, @JsonRawValue String remoteRow,
                        @JsonRawValue String oldRow, @JsonRawValue String newRow, String remoteCommitLsn,
                        String remoteCommitTime) {

        /**
         * The event without its row images: what the dashboard shows (the key says which row). A
         * row may hold what only the database's own users should read, and the HTTP endpoints ask
         * for no credentials.
         */
        public Event withoutRows() {
            return new Event(kind, id, node, recordedAt, sourceNode, table, type, key, resolution, error, sqlstate,
                    null, null, null, null, remoteCommitLsn, remoteCommitTime);
        }

        /** ISO-8601 in UTC, for the JSON output. */
        @JsonProperty("recordedAt")
        public String recordedAtText() {
            return recordedAt.toString();
        }
    }

    private static final String CONFLICTS = """
            SELECT id, recorded_at, source_node, table_name, conflict_type, key_values::text, resolution,
                   local_row::text, remote_row::text, remote_commit_lsn::text, remote_commit_time
              FROM pgmesh.conflicts WHERE recorded_at >= ? ORDER BY id
            """;
    private static final String ERRORS = """
            SELECT id, recorded_at, source_node, table_name, operation, key_values::text, error, sqlstate,
                   old_row::text, new_row::text, remote_commit_lsn::text, remote_commit_time
              FROM pgmesh.apply_errors WHERE recorded_at >= ? ORDER BY id
            """;

    public static ConflictReport read(MeshConfig config, Instant since) {
        List<Event> events = new ArrayList<>();
        List<String> unreachable = new ArrayList<>();
        for (NodeConfig node : config.nodes()) {
            try (Connection conn = PgConnector.connect(node, "conflicts")) {
                events.addAll(read(conn, node.name(), since));
            } catch (SQLException e) {
                unreachable.add("node " + node.name() + ": cannot read (" + PgConnector.describe(node) + "): "
                        + Errors.describe(e));
            }
        }
        events.sort(Comparator.comparing(Event::recordedAt));
        return new ConflictReport(List.copyOf(events), List.copyOf(unreachable));
    }

    static List<Event> read(Connection conn, String node, Instant since) throws SQLException {
        return read(conn, node, since, 0);
    }

    /**
     * The conflicts and apply errors recorded on one node since {@code since}; with {@code newest}
     * above 0, only that many of each kind, the newest (a dashboard must not read an hour of a
     * conflict storm).
     */
    public static List<Event> read(Connection conn, String node, Instant since, int newest) throws SQLException {
        List<Event> events = new ArrayList<>();
        Timestamp from = Timestamp.from(since);
        // Both queries end in ORDER BY id: the newest first, as many as asked.
        String tail = newest > 0 ? " DESC LIMIT " + newest : "";
        if (Sql.queryBool(conn, "SELECT to_regclass('pgmesh.conflicts') IS NOT NULL")) {
            try (PreparedStatement ps = conn.prepareStatement(CONFLICTS.strip() + tail)) {
                ps.setTimestamp(1, from);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        events.add(new Event("conflict", node + ":" + rs.getLong(1), node, instant(rs, 2), rs.getString(3),
                                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), null, null,
                                rs.getString(8), rs.getString(9), null, null, rs.getString(10), text(rs, 11)));
                    }
                }
            }
        }
        if (Sql.queryBool(conn, "SELECT to_regclass('pgmesh.apply_errors') IS NOT NULL")) {
            try (PreparedStatement ps = conn.prepareStatement(ERRORS.strip() + tail)) {
                ps.setTimestamp(1, from);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        events.add(new Event("apply_error", node + ":" + rs.getLong(1), node, instant(rs, 2),
                                rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), null,
                                rs.getString(7), rs.getString(8), null, null, rs.getString(9), rs.getString(10),
                                rs.getString(11), text(rs, 12)));
                    }
                }
            }
        }
        return events;
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        Timestamp ts = rs.getTimestamp(column);
        return ts == null ? null : ts.toInstant();
    }

    private static String text(ResultSet rs, int column) throws SQLException {
        Instant t = instant(rs, column);
        return t == null ? null : t.toString();
    }
}
