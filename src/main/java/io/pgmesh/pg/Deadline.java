package io.pgmesh.pg;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds for the waits that the driver does not bound: the start of a replication stream (no
 * socket timeout may be set on one, see {@link PgConnector#connectReplication}), and a stop that
 * must not wait for a node that stopped answering. The way out of such a wait is to drop the
 * connection: its socket closes, the blocked read or write fails at once, and the server rolls
 * back whatever was not committed.
 */
public final class Deadline {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pgmesh deadlines");
        t.setDaemon(true);
        return t;
    });

    /** A call that may wait on the server. */
    @FunctionalInterface
    public interface Call<T> {
        T call() throws SQLException;
    }

    private Deadline() {
    }

    /** Runs {@code call}, dropping {@code conn} if it has not returned within {@code bound}. */
    public static <T> T abortUnlessDone(Connection conn, Duration bound, Call<T> call) throws SQLException {
        ScheduledFuture<?> timer = TIMER.schedule(() -> abort(conn), bound.toMillis(), TimeUnit.MILLISECONDS);
        try {
            return call.call();
        } finally {
            timer.cancel(false);
        }
    }

    /** Drops the connection without a word to the server (null is ignored). */
    public static void abort(Connection conn) {
        if (conn == null) {
            return;
        }
        try {
            conn.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
            // already closed, or closing anyway
        }
    }
}
