package io.pgmesh.causal;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * What each source had seen, over its own time, as this node received it: "the transactions
 * {@code source} committed from {@code from_time} on were made having seen at least this". In a
 * mesh of three nodes or more it answers the other half of causality: a local version written by
 * node R (applied here) is causally later than a change from node C that R had applied before it
 * wrote that version, even though C never saw R's version. Without it the change from C would be
 * weighed as concurrent and, where the table's rule or the clocks favour it, overwrite a version
 * that R and C keep.
 *
 * <p>A row is written with the first transaction of a source that carries new knowledge, in the
 * same target transaction. Rows are kept while a change made before some node saw them can still
 * arrive: once every other node has told (its beacons, recorded here in {@code task_progress})
 * that it applied the source past a row's successor, that row can answer nothing more.
 *
 * <p>Precision: a source's commit times must grow with its commits. A node whose clock steps
 * backwards can make an older row answer for a newer version, which then counts as concurrent.
 */
public final class SeenHistory {

    private SeenHistory() {
    }

    /** The statement that records {@code seen} as holding for {@code source}'s transactions from {@code from}. */
    public static String recordSql(String source, Instant from, Seen seen) {
        return "INSERT INTO pgmesh.seen_history (source_node, from_time, seen) VALUES (" + Ident.literal(source) + ", "
                + Ident.literal(from.toString()) + ", " + Ident.literal(seen.encode()) + ") ON CONFLICT DO NOTHING";
    }

    /** What {@code node} had seen when it committed at {@code time}, as far as recorded here. */
    public static Seen at(Connection conn, String node, Instant time) throws SQLException {
        return Seen.parse(Sql.queryString(conn, "SELECT seen::text FROM pgmesh.seen_history WHERE source_node = ?"
                + " AND from_time <= ? ORDER BY from_time DESC LIMIT 1", node, Timestamp.from(time)).orElse(null));
    }

    /**
     * Drops {@code source}'s rows that no change still to arrive can need: those before the last
     * row at or below the horizon, the earliest point of {@code source}'s time that every other
     * node ({@code otherNodes} of them, besides this one) has told it applied. A node that never
     * told holds pruning back.
     */
    public static void prune(Connection conn, String source, int otherNodes) throws SQLException {
        Sql.queryString(conn, """
                WITH horizon AS (
                    SELECT CASE WHEN count(*) = ? AND bool_and(seen ->> ? IS NOT NULL)
                                THEN min((seen ->> ?)::timestamptz) END AS h
                      FROM pgmesh.task_progress WHERE source_node <> ?),
                keep AS (
                    SELECT max(from_time) AS t FROM pgmesh.seen_history, horizon
                     WHERE source_node = ? AND from_time <= horizon.h),
                gone AS (
                    DELETE FROM pgmesh.seen_history WHERE source_node = ? AND from_time < (SELECT t FROM keep)
                    RETURNING 1)
                SELECT count(*) FROM gone""", otherNodes, source, source, source, source, source);
    }
}
