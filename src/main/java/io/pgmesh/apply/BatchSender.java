package io.pgmesh.apply;

import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs a strict batch on the target on a thread of its own, so that the applier builds the next
 * batch while the server executes this one: without it the two take turns, each idle while the
 * other works. One batch at a time, and the applier touches the connection only when none is in
 * flight ({@link #quiesce}, {@link #collect}), so the connection is never used by two threads at
 * once.
 */
final class BatchSender implements AutoCloseable {

    /** How a batch ended: {@code failure} null when every statement in it ran. */
    record Outcome(List<StrictBatch.Entry> entries, SQLException failure) {
    }

    private final Connection conn;
    private final ExecutorService thread;
    private List<StrictBatch.Entry> entries;   // of the batch in flight, null when none
    private Future<SQLException> result;
    private SQLException failure;              // once awaited
    private boolean awaited;

    BatchSender(Connection conn, String name) {
        this.conn = conn;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "send " + name);
            t.setDaemon(true);
            return t;
        });
    }

    boolean inFlight() {
        return entries != null;
    }

    /** Starts {@code sql} in the background; the caller has collected the previous batch. */
    void start(List<StrictBatch.Entry> batchEntries, String sql) {
        if (entries != null) {
            throw new IllegalStateException("a batch is already in flight");
        }
        entries = batchEntries;
        awaited = false;
        failure = null;
        result = thread.submit(() -> {
            try {
                Sql.exec(conn, sql);
                return null;
            } catch (SQLException e) {
                return e;
            }
        });
    }

    /**
     * Waits for the batch in flight and leaves the connection usable (outside any transaction if
     * the batch failed), keeping the outcome for {@link #collect}: for the applier's own short
     * queries while it builds the next batch (a new prepared statement, a table's description).
     */
    void quiesce() throws SQLException {
        if (entries == null || awaited) {
            return;
        }
        failure = await();
        awaited = true;
        if (failure != null) {
            Sql.exec(conn, "ROLLBACK");
        }
    }

    /** The outcome of the batch in flight once it has ended, or null when none was in flight. */
    Outcome collect() throws SQLException {
        if (entries == null) {
            return null;
        }
        if (!awaited) {
            failure = await();
        }
        Outcome o = new Outcome(entries, failure);
        entries = null;
        result = null;
        failure = null;
        return o;
    }

    /** Waits without giving in to an interrupt: the connection must be free before anyone else uses it. */
    private SQLException await() throws SQLException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return result.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    throw new SQLException("sending a batch failed: " + e.getCause(), e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits for the batch in flight, whatever its outcome, and forgets it. */
    void abandon() {
        try {
            if (entries != null && !awaited) {
                await();
            }
        } catch (SQLException ignored) {
            // what it did is rolled back by the caller, or by the server when the connection closes
        }
        entries = null;
        result = null;
        failure = null;
    }

    @Override
    public void close() {
        abandon();
        thread.shutdownNow();
    }
}
