package io.pgmesh.progress;

import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds an apply session to its task's replication origin and says where the task resumes: the
 * first half of the exactly-once rule. The origin serves one session at a time, which makes it
 * the lease between pgmesh processes, so it is taken <em>before</em> anything is read: a session
 * that still held it (an old process's backend) could otherwise commit one more transaction
 * between the read and the take, and that transaction would be applied twice.
 *
 * <p>What it reports is durable: the origin's position is read with a flush, so a commit of the
 * previous session that the server had not yet written to disk ({@code synchronous_commit = off})
 * is on disk before capture may confirm it to the source. Otherwise a crash of the target right
 * after the confirm would lose that transaction on both sides.
 *
 * <p>{@code pgmesh.task_progress} is the truth about what was applied: PostgreSQL also advances
 * an origin when a transaction that set its position aborts, so the origin can stand ahead of the
 * data; it is then put back.
 */
public final class OriginSession {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.progress");

    private OriginSession() {
    }

    /**
     * Takes {@code origin} for this session (creating it if needed) and returns the end of the
     * last transaction applied under it, on disk. Fails with SQLSTATE 55006 while another session
     * holds the origin. {@code beforeTake} runs just before the origin is taken (a test's hook).
     */
    public static Lsn take(Connection conn, String origin, String sourceNode, Runnable beforeTake) throws SQLException {
        if (Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", origin).isEmpty()) {
            Sql.queryString(conn, "SELECT pg_replication_origin_create(?)", origin);
        }
        beforeTake.run();
        setup(conn, origin);
        Lsn originLsn = flushedProgress(conn);
        Lsn applied = TaskProgress.lastCommit(conn, sourceNode).orElse(null);
        if (applied == null) {
            TaskProgress.start(conn, sourceNode, originLsn);
            return originLsn;
        }
        if (originLsn.compareTo(applied) > 0) {
            log.warn("origin {} stood at {} but the last transaction applied from {} ends at {} (a transaction that"
                    + " was rolled back moved it); putting it back", origin, originLsn, sourceNode, applied);
            // An origin held by a session cannot be advanced, not even by that session.
            Sql.queryString(conn, "SELECT pg_replication_origin_session_reset()");
            Sql.queryString(conn, "SELECT pg_replication_origin_advance(?, ?::pg_lsn)", origin, applied.toString());
            setup(conn, origin);
        }
        return applied;
    }

    /**
     * What this session's origin has applied, flushed to disk first if it was not: the only
     * position that may be confirmed to the source.
     */
    public static Lsn flushedProgress(Connection conn) throws SQLException {
        return Sql.queryString(conn, "SELECT pg_replication_origin_session_progress(true)")
                .map(Lsn::parse).orElse(Lsn.ZERO);
    }

    private static void setup(Connection conn, String origin) throws SQLException {
        Sql.queryString(conn, "SELECT pg_replication_origin_session_setup(?)", origin);
    }
}
