package io.pgmesh.apply;

import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Statements waiting to go to the target in one round trip (a JDBC batch of simple queries).
 * A statement may carry a check that runs, in order, after the batch when the statement touched
 * no row: that is how the fast path hands a conflict to the slow path.
 *
 * <p>In the simple query protocol the server executes every query of a batch even after one
 * failed; a failure therefore always ends the apply session (its transaction is rolled back when
 * the connection closes), and callers never put statements of two source transactions' changes
 * into one batch.
 */
final class Pipeline {

    /** Runs when a statement of the batch touched no row. */
    @FunctionalInterface
    interface NoRowCheck {
        void run() throws SQLException;
    }

    static final int MAX_STATEMENTS = 1000;
    private static final int MAX_CHARS = 4 << 20;

    private final Statement statement;
    private final List<NoRowCheck> checks = new ArrayList<>();
    private int chars;

    Pipeline(Connection conn) throws SQLException {
        this.statement = conn.createStatement();
    }

    void add(String sql) throws SQLException {
        add(sql, null);
    }

    void add(String sql, NoRowCheck check) throws SQLException {
        statement.addBatch(sql);
        checks.add(check);
        chars += sql.length();
    }

    boolean isEmpty() {
        return checks.isEmpty();
    }

    /** Full enough to send before adding more, so memory stays bounded whatever the transaction size. */
    boolean isFull() {
        return checks.size() >= MAX_STATEMENTS || chars >= MAX_CHARS;
    }

    /** Sends every waiting statement, then runs the checks of those that touched no row. */
    void send() throws SQLException {
        if (checks.isEmpty()) {
            return;
        }
        List<NoRowCheck> sent = new ArrayList<>(checks); // holds nulls: statements without a check
        checks.clear();
        chars = 0;
        int[] counts;
        try {
            counts = statement.executeBatch();
        } catch (BatchUpdateException e) {
            // The first failure is the cause; the driver wraps it with the statement's text.
            throw e.getNextException() != null ? e.getNextException() : e;
        } finally {
            statement.clearBatch();
        }
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0 && sent.get(i) != null) {
                sent.get(i).run();
            }
        }
    }

    void discard() throws SQLException {
        statement.clearBatch();
        checks.clear();
        chars = 0;
    }
}
