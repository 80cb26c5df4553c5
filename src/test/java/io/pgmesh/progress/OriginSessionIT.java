package io.pgmesh.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.it.PgCluster;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import io.pgmesh.setup.ControlSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Where a task resumes after a restart, on a real server: the position must be one that no other
 * session can still move, and one that is on disk, since capture confirms it to the source.
 */
@Timeout(60)
class OriginSessionIT {
    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        // The WAL writer then leaves an asynchronous commit unflushed for seconds, which makes the
        // window of an unflushed commit of the previous session wide enough to test.
        cluster = PgCluster.start(List.of(PgCluster.defaultVersion()), Map.of("wal_writer_delay", "10000ms"));
        try (Connection c = cluster.connect(0)) {
            ControlSchema.ensure(c);
        }
    }

    /** A transaction applied as the apply session does it: its progress row and origin position commit with it. */
    private static void applyUnder(Connection c, String source, String endLsn) throws SQLException {
        Sql.exec(c, "BEGIN");
        Sql.queryString(c, "INSERT INTO pgmesh.task_progress (source_node, last_commit_lsn) VALUES (?, ?::pg_lsn)"
                + " ON CONFLICT (source_node) DO UPDATE SET last_commit_lsn = EXCLUDED.last_commit_lsn RETURNING 1",
                source, endLsn);
        Sql.queryString(c, "SELECT pg_replication_origin_xact_setup(?::pg_lsn, now())", endLsn);
        Sql.exec(c, "COMMIT");
    }

    private static Lsn flushed(Connection c) throws SQLException {
        return Lsn.parse(Sql.queryString(c, "SELECT pg_current_wal_flush_lsn()").orElseThrow());
    }

    private static Lsn localCommit(Connection c, String origin) throws SQLException {
        return Lsn.parse(Sql.queryString(c, "SELECT s.local_lsn::text FROM pg_replication_origin_status s"
                + " JOIN pg_replication_origin o ON o.roident = s.local_id WHERE o.roname = ?", origin).orElseThrow());
    }

    @Test
    void thePositionATaskResumesFromIsOnDiskBeforeItCanBeConfirmed() throws Exception {
        String origin = "pgmesh_flushtest";
        try (Connection old = cluster.connect(0); Connection fresh = cluster.connect(0)) {
            Sql.exec(old, "SET synchronous_commit = off");
            Sql.queryString(old, "SELECT pg_replication_origin_create(?)", origin);
            Sql.queryString(old, "SELECT pg_replication_origin_session_setup(?)", origin);
            Lsn local = Lsn.ZERO;
            for (int attempt = 1; attempt <= 5; attempt++) {
                applyUnder(old, "flushtest", "0/" + Integer.toHexString(0xA0000 + attempt));
                local = localCommit(old, origin);
                if (flushed(old).compareTo(local) < 0) {
                    break;
                }
            }
            assertTrue(flushed(old).compareTo(local) < 0, "the previous session's last commit (" + local
                    + ") must still be unflushed for this test to mean anything; flushed: " + flushed(old));
            Sql.queryString(old, "SELECT pg_replication_origin_session_reset()");

            Lsn start = OriginSession.take(fresh, origin, "flushtest", () -> { });

            assertTrue(start.value() > 0xA0000, "the task resumes after the previous session's last commit: " + start);
            assertTrue(flushed(fresh).compareTo(local) >= 0, "the commit that the task resumes after (local "
                    + local + ") must be on disk before capture may confirm it; flushed only to " + flushed(fresh));
        }
    }

    @Test
    void anOldSessionThatStillHoldsTheOriginCannotCommitUnseenBetweenReadAndTake() throws Exception {
        String origin = "pgmesh_leasetest";
        try (Connection old = cluster.connect(0); Connection fresh = cluster.connect(0)) {
            Sql.queryString(old, "SELECT pg_replication_origin_create(?)", origin);
            Sql.queryString(old, "SELECT pg_replication_origin_session_setup(?)", origin);
            applyUnder(old, "leasetest", "0/B0000");
            assertEquals("55006", assertThrows(SQLException.class,
                            () -> OriginSession.take(fresh, origin, "leasetest", () -> { })).getSQLState(),
                    "while an old session holds the origin, a new one must not take it (the lease)");

            // The old backend commits one more transaction and lets go just before the new session
            // takes the origin: the new session must resume after that transaction, not before it.
            Lsn start = OriginSession.take(fresh, origin, "leasetest", () -> {
                try {
                    applyUnder(old, "leasetest", "0/B1000");
                    Sql.queryString(old, "SELECT pg_replication_origin_session_reset()");
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(Lsn.parse("0/B1000"), start,
                    "a transaction the old session committed before the take must not be applied again");
        }
    }
}
