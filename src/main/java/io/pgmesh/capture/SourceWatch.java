package io.pgmesh.capture;

import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The watchdog of a task's change stream. An idle source sends nothing once everything is
 * confirmed, and a source that froze (a hung host, a dropped path) sends nothing either, while
 * the driver, which only reads what has arrived, keeps waiting as long as TCP keeps the
 * connection. So after a quiet spell the source is asked, on a connection of its own with a
 * bound on the answer, whether our walsender still holds the task's slot. No answer in time, or
 * another holder, ends the stream with an error, and the task reconnects with backoff.
 */
public final class SourceWatch implements AutoCloseable {
    private final TaskSpec task;
    private final int walSenderPid;
    private final long quietNanos;
    private final Duration probeBound;
    private long lastProbe = System.nanoTime();
    private Connection conn;

    public SourceWatch(TaskSpec task, int walSenderPid, Duration quiet, Duration probeBound) {
        this.task = task;
        this.walSenderPid = walSenderPid;
        this.quietNanos = quiet.toNanos();
        this.probeBound = probeBound;
    }

    /** Called while no message waits; {@code lastMessageNanos} is when the stream last delivered one. */
    public void quiet(long lastMessageNanos) throws SQLException {
        long now = System.nanoTime();
        if (now - lastMessageNanos < quietNanos || now - lastProbe < quietNanos) {
            return;
        }
        lastProbe = now;
        String holder;
        try {
            if (conn == null) {
                conn = PgConnector.connect(task.source(), "watch " + task, probeBound);
            }
            holder = Sql.queryString(conn, "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = ?",
                    task.slotName()).orElse("no slot");
        } catch (SQLException e) {
            close();
            throw new SQLException("node " + task.source().name() + " did not answer within " + probeBound.toSeconds()
                    + " s while its change stream was silent: " + Errors.describe(e), "08006", e);
        }
        if (!holder.equals(Integer.toString(walSenderPid))) {
            throw new SQLException("the change stream from " + task.source().name() + " is gone: slot "
                    + task.slotName() + " is held by " + (holder.isEmpty() ? "nobody" : holder)
                    + ", not by our walsender (pid " + walSenderPid + ")", "08006");
        }
    }

    @Override
    public void close() {
        Sql.closeQuietly(conn);
        conn = null;
    }
}
