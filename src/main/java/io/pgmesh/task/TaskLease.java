package io.pgmesh.task;

import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import java.util.List;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which {@code run} process applies a task: a row of {@code pgmesh.task_lease} on the task's
 * target, live as {@link #LIVE} says, by the target's own clock, so no two hosts' clocks are ever
 * compared.
 *
 * <p>PostgreSQL already lets one session at a time hold a replication origin, and one walsender
 * stream a slot: two processes can never apply the same task at once. What it cannot tell is a
 * holder that is gone from one that is slow: a backend whose client vanished with its host or
 * behind a cut link keeps the origin until TCP keepalives give up, hours by default. The lease
 * bounds that: its holder renews it every {@link #RENEW_EVERY} and gives the task up by itself
 * once it could not for {@link #SELF_FENCE}, before the lease runs out; a standby that finds it
 * expired takes it, ends the old holder's backends, and then takes the origin. The origin still
 * decides who applies, the lease only decides who may try, and exactly once rests on the origin
 * as before.
 *
 * <p>A process started with {@code --targets} is preferred for its nodes' tasks: finding one held
 * by a process that runs every task, it asks for it ({@code claimed_by}), and the holder hands it
 * over at its next renewal.
 */
final class TaskLease {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.task");
    /** How long a lease lasts without renewal: the bound on a takeover after a holder vanished. */
    static final Duration TERM = Duration.ofSeconds(15);
    static final Duration RENEW_EVERY = Duration.ofSeconds(3);
    /** A holder that could not renew for this long stops applying: before its lease expires. */
    static final Duration SELF_FENCE = Duration.ofSeconds(10);
    /** How often a standby looks whether the lease is free. */
    static final Duration STANDBY_RECHECK = Duration.ofSeconds(2);

    private TaskLease() {
    }

    /**
     * Whether lease {@code l} is live. Renewing writes nothing: an idle mesh must write nothing
     * to any WAL. The holder's keeper session runs a read of the row every
     * {@link #RENEW_EVERY}, which moves its {@code query_start} in {@code pg_stat_activity}
     * (shared memory, the target's clock): the lease lives while that is younger than
     * {@link #TERM}, and until {@code expires_at} (set when it is taken) before the keeper's first
     * renewal. A keeper session whose client vanished stays, but its {@code query_start} ages.
     */
    static final String LIVE = "(l.expires_at > clock_timestamp() OR EXISTS (SELECT FROM pg_stat_activity a"
            + " WHERE a.pid = l.keeper_pid AND a.query_start > clock_timestamp() - interval '" + TERM.toSeconds() + " seconds'))";

    /**
     * The lease as the target has it. {@code free}: it ran out, or the apply session it names is
     * gone (its process died on a host that closed its connections, or is between two attempts),
     * so a restarted process need not wait for the expiry.
     */
    record Row(UUID holder, String process, String fingerprint, boolean preferred, int backendPid, boolean free,
               UUID claimedBy, String claimedProcess, boolean claimFresh) {
    }

    sealed interface Decision permits Take, Wait, Claim, HandOver {
    }

    /** @param from the process that held it before, when it was another one */
    record Take(String from) implements Decision {
    }

    /** @param foreign the holder runs another mesh file: not a standby, a fault to fix */
    record Wait(String why, boolean foreign) implements Decision {

        Wait(String why) {
            this(why, false);
        }
    }

    /** A preferred process asks the holder that runs every task to hand this one over. */
    record Claim(String why) implements Decision {
    }

    /** This process held it, but a preferred process asked for it: let it go at once. */
    record HandOver(String why) implements Decision {
    }

    /** What this process may do with the lease as it is; {@code row} null when there is none yet. */
    static Decision decide(Row row, LeaseHolder me) {
        if (row == null) {
            return new Take(null);
        }
        boolean mine = row.holder().equals(me.id());
        boolean claimedByOther = row.claimFresh() && row.claimedBy() != null && !row.claimedBy().equals(me.id());
        if (!me.preferred() && claimedByOther && (mine || row.free())) {
            String why = "handed over to " + row.claimedProcess() + ", which runs with --targets for this task's target;"
                    + " standing by";
            return mine ? new HandOver(why) : new Wait(why);
        }
        if (mine) {
            return new Take(null);
        }
        if (!row.free()) {
            if (!row.fingerprint().equals(me.fingerprint())) {
                return new Wait("held by " + row.process() + ", which runs a different mesh file (fingerprint "
                        + row.fingerprint() + ", this process " + me.fingerprint() + "); give every pgmesh run the same"
                        + " mesh file", true);
            }
            if (me.preferred() && !row.preferred()) {
                return new Claim("held by " + row.process() + ", which runs every task; asked it to hand this one over");
            }
            return new Wait("held by " + row.process() + "; standing by");
        }
        return new Take(row.process());
    }

    /**
     * Takes the lease of the task from {@code sourceNode} on its target through the apply session
     * {@code conn}, whose backend it records. When another process held it, that process's backend
     * is ended, so that the origin is free. Throws when another process holds it.
     *
     * @return the process that held it before, or null
     */
    static String acquire(Connection conn, String sourceNode, LeaseHolder me, String applyName)
            throws SQLException, LeaseHeldException {
        boolean autoCommit = conn.getAutoCommit();
        conn.setAutoCommit(false);
        Row row;
        Decision decision;
        try {
            // The row stays locked until the commit: a session that dies in between (its host lost)
            // must not hold every renewal and every other acquire for as long as TCP keeps it.
            Sql.exec(conn, "SET LOCAL idle_in_transaction_session_timeout = '5s'; SET LOCAL lock_timeout = '5s'");
            try (PreparedStatement ps = conn.prepareStatement("""
                    INSERT INTO pgmesh.task_lease (source_node, holder_id, process, fingerprint, preferred, backend_pid,
                                                   acquired_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, pg_backend_pid(), clock_timestamp(), '-infinity')
                    ON CONFLICT (source_node) DO NOTHING""")) {
                bindHolder(ps, 1, sourceNode, me);
                ps.executeUpdate();
            }
            row = read(conn, sourceNode);
            decision = decide(row, me);
            if (decision instanceof Take) {
                try (PreparedStatement ps = conn.prepareStatement("""
                        UPDATE pgmesh.task_lease SET
                            acquired_at = CASE WHEN holder_id = ? THEN acquired_at ELSE clock_timestamp() END,
                            holder_id = ?, process = ?, fingerprint = ?, preferred = ?, backend_pid = pg_backend_pid(),
                            expires_at = clock_timestamp() + ?::interval, keeper_pid = NULL,
                            claimed_by = CASE WHEN claimed_by = ? THEN NULL ELSE claimed_by END
                        WHERE source_node = ?""")) {
                    ps.setObject(1, me.id());
                    ps.setObject(2, me.id());
                    ps.setString(3, me.process());
                    ps.setString(4, me.fingerprint());
                    ps.setBoolean(5, me.preferred());
                    ps.setString(6, TERM.toMillis() + " milliseconds");
                    ps.setObject(7, me.id());
                    ps.setString(8, sourceNode);
                    ps.executeUpdate();
                }
            } else if (decision instanceof Claim) {
                Sql.queryString(conn, "UPDATE pgmesh.task_lease SET claimed_by = ?, claimed_process = ?,"
                        + " claimed_at = clock_timestamp() WHERE source_node = ? RETURNING 1", me.id(), me.process(), sourceNode);
            } else if (decision instanceof HandOver) {
                Sql.queryString(conn, "UPDATE pgmesh.task_lease SET expires_at = clock_timestamp(), keeper_pid = NULL"
                        + " WHERE source_node = ? AND holder_id = ? RETURNING 1", sourceNode, me.id());
            }
            conn.commit();
        } catch (SQLException | RuntimeException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(autoCommit);
        }
        if (decision instanceof Take t) {
            endOldBackends(conn, row, applyName);
            return t.from();
        }
        if (decision instanceof Wait w) {
            throw new LeaseHeldException(w.why(), w.foreign());
        }
        throw new LeaseHeldException(decision instanceof Claim c ? c.why() : ((HandOver) decision).why(), false);
    }

    /**
     * A backend that applied for an earlier holder (or an earlier attempt of this one, cut off
     * without a word) may still hold the origin: it is ended, so that the origin is free. That is
     * the pid the lease recorded, if it is still a pgmesh session (never a pid reused since by an
     * application), and any other session applying this task ({@code applyName}): with the lease
     * taken, none of them may apply any more.
     */
    private static void endOldBackends(Connection conn, Row row, String applyName) throws SQLException {
        List<String> ended;
        try {
            ended = Sql.queryColumn(conn, """
                    SELECT pid || ' (' || usename || ')'
                      FROM (SELECT pid, usename FROM pg_stat_activity
                             WHERE pid <> pg_backend_pid()
                               AND (pid = ? AND application_name LIKE 'pgmesh apply %' OR application_name = left(?, 63))
                            OFFSET 0) old -- OFFSET 0: filtered first, so that nothing else is ever terminated
                     WHERE pg_terminate_backend(pid, 5000)""", row == null ? -1 : row.backendPid(), applyName);
        } catch (SQLException e) {
            if (SqlStates.INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                throw new SQLException("cannot end the session that applied this task for " + (row == null ? "another process"
                        : row.process()) + " (" + Errors.describe(e) + "): run every pgmesh run as the same role, or grant"
                        + " pg_signal_backend to this one", e.getSQLState(), e);
            }
            throw e;
        }
        if (!ended.isEmpty()) {
            log.info("ended session(s) {} that applied this task before", ended);
        }
    }

    /**
     * Renews the lease from the keeper's own session: the first time it names the session in the
     * row ({@code first}), later a read, which writes nothing ({@link #LIVE}). Returns null while
     * the lease stays with this process, else why it left: taken by another process, or asked for
     * by a preferred one (then released at once, so that it need not wait for the expiry).
     */
    static String renew(Connection conn, String sourceNode, LeaseHolder me, boolean first) throws SQLException {
        String claimed = "NOT preferred AND claimed_by IS NOT NULL AND claimed_by <> holder_id"
                + " AND claimed_at > clock_timestamp() - ?::interval, claimed_process";
        String sql = first
                ? "UPDATE pgmesh.task_lease SET keeper_pid = pg_backend_pid() WHERE source_node = ? AND holder_id = ?"
                        + " RETURNING " + claimed
                : "SELECT " + claimed + " FROM pgmesh.task_lease WHERE source_node = ? AND holder_id = ?"
                        + " AND keeper_pid = pg_backend_pid()";
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            if (first) {
                ps.setString(1, sourceNode);
                ps.setObject(2, me.id());
                ps.setString(3, TERM.toMillis() + " milliseconds");
            } else {
                ps.setString(1, TERM.toMillis() + " milliseconds");
                ps.setString(2, sourceNode);
                ps.setObject(3, me.id());
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return "another process took the lease of this task (its lease had run out); standing by";
                }
                if (rs.getBoolean(1)) {
                    String to = rs.getString(2);
                    release(conn, sourceNode, me);
                    return "handed over to " + to + ", which runs with --targets for this task's target; standing by";
                }
                return null;
            }
        }
    }

    /** Lets the lease go now: a stop, so that a standby need not wait for the expiry. */
    static void release(Connection conn, String sourceNode, LeaseHolder me) throws SQLException {
        Sql.queryString(conn, "UPDATE pgmesh.task_lease SET expires_at = clock_timestamp(), keeper_pid = NULL"
                + " WHERE source_node = ? AND holder_id = ? RETURNING 1", sourceNode, me.id());
    }

    /**
     * The live leases on a node held by processes that run another mesh file than {@code me}:
     * one line each, naming the task's source, the process and both fingerprints.
     */
    static java.util.List<String> foreignHolders(Connection conn, LeaseHolder me) throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_lease') IS NOT NULL")) {
            return java.util.List.of();
        }
        return Sql.queryColumn(conn, "SELECT format('the task from %s is held by %s, which runs a mesh file with"
                + " fingerprint %s', source_node, process, fingerprint) FROM pgmesh.task_lease l WHERE " + LIVE
                + " AND fingerprint <> ? AND holder_id <> ? ORDER BY source_node", me.fingerprint(), me.id());
    }

    /**
     * Whether an attempt could now take the lease, or ask for it: read without a lock, for a
     * standby that looks every few seconds through one idle session instead of opening a whole
     * attempt's connections each time.
     */
    static boolean worthAnAttempt(Connection conn, String sourceNode, LeaseHolder me) throws SQLException {
        Row row = read(conn, sourceNode, false);
        Decision d = row == null ? new Take(null) : decide(row, me);
        return d instanceof Take || d instanceof Claim;
    }

    private static Row read(Connection conn, String sourceNode) throws SQLException {
        return read(conn, sourceNode, true);
    }

    private static Row read(Connection conn, String sourceNode, boolean lock) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT holder_id, process, fingerprint, preferred,"
                + " backend_pid, NOT " + LIVE + " OR NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = backend_pid),"
                + " claimed_by, claimed_process, coalesce(claimed_at > clock_timestamp() - ?::interval, false)"
                + " FROM pgmesh.task_lease l WHERE source_node = ?" + (lock ? " FOR UPDATE OF l" : ""))) {
            ps.setString(1, TERM.toMillis() + " milliseconds");
            ps.setString(2, sourceNode);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Row(rs.getObject(1, UUID.class), rs.getString(2), rs.getString(3), rs.getBoolean(4),
                        rs.getInt(5), rs.getBoolean(6), rs.getObject(7, UUID.class), rs.getString(8), rs.getBoolean(9));
            }
        }
    }

    private static void bindHolder(PreparedStatement ps, int from, String sourceNode, LeaseHolder me) throws SQLException {
        ps.setString(from, sourceNode);
        ps.setObject(from + 1, me.id());
        ps.setString(from + 2, me.process());
        ps.setString(from + 3, me.fingerprint());
        ps.setBoolean(from + 4, me.preferred());
    }
}
