package io.pgmesh.progress;

import io.pgmesh.causal.Beacon;
import io.pgmesh.causal.Seen;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/**
 * The row of {@code pgmesh.task_progress} that says, on the target, which source transaction a
 * task applied last. It is written in the same target transaction as the data (so it is exactly
 * as durable as the data), and it is what the applier believes after a failure: the replication
 * origin alone can run ahead of the data (see {@link OriginSession}).
 */
public final class TaskProgress {
    /** The prepared statement every applied transaction ends with. */
    private static final String STATEMENT = "pgmesh_commit";
    /** The same, with the beacon that tells the other nodes what is applied here ({@link Beacon}). */
    private static final String STATEMENT_WITH_BEACON = "pgmesh_commit_beacon";

    private TaskProgress() {
    }

    /**
     * Prepares, in an apply session bound to {@code origin}, the statements that end an applied
     * transaction: its row, and the origin position and commit timestamp the COMMIT will carry
     * (set in the main query, so that it happens even if the row were missing); in the second one
     * also the beacon that tells the other nodes it is applied here ({@link Beacon}). Prepared
     * statements, not a procedure: a SQL procedure's body is parsed and planned at every CALL,
     * which cost more than the rest of a small transaction.
     */
    public static void prepare(Connection conn, String sourceNode, String origin) throws SQLException {
        String progress = " (pg_lsn, timestamptz, jsonb, text) AS WITH progress AS ("
                + "UPDATE pgmesh.task_progress SET last_commit_lsn = $1, last_commit_time = $2,"
                + " applied_at = clock_timestamp(), seen = $3 WHERE source_node = " + Ident.literal(sourceNode)
                + " RETURNING 1) SELECT pg_replication_origin_xact_setup($1, $2)";
        Sql.exec(conn, "PREPARE " + STATEMENT + progress);
        Sql.exec(conn, "PREPARE " + STATEMENT_WITH_BEACON + progress + " FROM " + Beacon.emitting(origin, "$4"));
    }

    /**
     * The end of a batch's last transaction written by {@link #commit} ({@code statements} starts
     * with it), made to carry the beacon: one per batch tells the other nodes about every
     * transaction of the batch, as the batch's transactions are applied in order.
     */
    public static String withBeacon(String statements) {
        String plain = "EXECUTE " + STATEMENT + "(";
        if (!statements.startsWith(plain)) {
            throw new IllegalArgumentException("not a commit of an applied transaction: " + statements);
        }
        return "EXECUTE " + STATEMENT_WITH_BEACON + "(" + statements.substring(plain.length());
    }

    /**
     * The statements that end an applied transaction: its progress, its origin position and time,
     * what its source had seen when it made it (so a restarted task knows it again), COMMIT.
     */
    public static String commit(String sourceNode, Lsn endLsn, Instant commitTime, Seen seen, boolean beacon) {
        return "EXECUTE " + (beacon ? STATEMENT_WITH_BEACON : STATEMENT) + "(" + Ident.literal(endLsn.toString()) + ", "
                + Ident.literal(commitTime.toString()) + ", " + Ident.literal(seen.encode()) + ", "
                + Ident.literal(Beacon.content(sourceNode, commitTime)) + ");\nCOMMIT";
    }

    /** What the source had seen as of the last transaction applied from it, as recorded with it. */
    public static Seen lastSeen(Connection conn, String sourceNode) throws SQLException {
        return Seen.parse(Sql.queryString(conn, "SELECT seen::text FROM pgmesh.task_progress WHERE source_node = ?",
                sourceNode).orElse(null));
    }

    /**
     * Records what the source had seen without a transaction of its own to carry it (a beacon
     * arrived while the source was otherwise quiet).
     */
    public static void saveSeen(Connection conn, String sourceNode, Seen seen) throws SQLException {
        // Flushed before it returns: the caller lets capture confirm past the beacon from here on,
        // and no applied transaction's origin progress vouches for this write (the apply session
        // commits asynchronously otherwise). At most once a second, and only while the source is quiet.
        Sql.exec(conn, "SET synchronous_commit = on");
        try {
            Sql.queryString(conn, "UPDATE pgmesh.task_progress SET seen = ?::jsonb WHERE source_node = ? RETURNING 1",
                    seen.encode(), sourceNode);
        } finally {
            Sql.exec(conn, "SET synchronous_commit = off");
        }
    }

    /** The end of the last transaction applied from {@code sourceNode}, if any was. */
    public static Optional<Lsn> lastCommit(Connection conn, String sourceNode) throws SQLException {
        return Sql.queryString(conn, "SELECT last_commit_lsn FROM pgmesh.task_progress WHERE source_node = ?",
                sourceNode).map(Lsn::parse);
    }

    /** Starts the row of a task that never applied anything, at the origin's position. */
    static void start(Connection conn, String sourceNode, Lsn at) throws SQLException {
        Sql.queryString(conn, "INSERT INTO pgmesh.task_progress (source_node, last_commit_lsn) VALUES (?, ?::pg_lsn)"
                + " ON CONFLICT DO NOTHING RETURNING 1", sourceNode, at.toString());
    }
}
