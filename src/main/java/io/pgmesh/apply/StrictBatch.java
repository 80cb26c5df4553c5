package io.pgmesh.apply;

import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Commit;
import java.util.ArrayList;
import java.util.List;

/**
 * Whole source transactions, rendered as strict statements (see {@link RowWriter#strict}), that go
 * to the server as one multi-statement query: one round trip for many transactions. The server
 * runs them in order and stops at the first failure, aborting that transaction; the messages of
 * every transaction are kept until the query returns so that the failed one can be replayed.
 *
 * <p>A transaction too big for one batch continues in the next ones (without savepoints: a
 * transaction of many subtransactions slows every reader of the target). Such a continuation batch
 * holds nothing else; when it fails, the earlier chunks are lost with it, and the transaction must
 * come again from the source to be applied carefully.
 */
final class StrictBatch {
    /**
     * Not more: pgjdbc appends each statement's result to a list it walks from the head every
     * time, so its cost grows with the square of the statements in one query (at 10,000 the
     * sending thread used more CPU than the server; at 500 it is a fifth of it at 2,000).
     */
    private static final int MAX_STATEMENTS = 500;
    /** The most a batch may hold across a slow link ({@link #fitTo}). */
    static final int MAX_STATEMENTS_FAR = 4000;
    private static final int MAX_CHARS = 1 << 20;
    private int maxStatements = MAX_STATEMENTS;

    /**
     * Sizes the batches for the round trip to the target. Each batch costs one round trip, and one
     * is in flight while the next is built: across a WAN the link, not the server, bounds the
     * rate. So from 5 ms on, a batch may hold 500 statements more per 5 ms of round trip, up to
     * {@link #MAX_STATEMENTS_FAR}: pgjdbc's cost per statement grows with their number, which the
     * link's wait hides there, and costs CPU for nothing next to the target.
     *
     * @return the statements a batch may now hold
     */
    int fitTo(java.time.Duration roundTrip) {
        long steps = roundTrip.toMillis() / 5;
        maxStatements = (int) Math.min(MAX_STATEMENTS_FAR, MAX_STATEMENTS * Math.max(1, steps));
        return maxStatements;
    }

    /** One transaction (or, in a continuation batch, one chunk of it) in this batch. */
    static final class Entry {
        final RemoteTxn txn;
        final List<WalMessage> messages = new ArrayList<>();
        Commit commit;
        /** The lineage each change of a first-update-wins table came with, for a replay. */
        private java.util.Map<WalMessage, io.pgmesh.causal.Lineage.Message> lineage;

        Entry(RemoteTxn txn) {
            this.txn = txn;
        }

        void lineage(WalMessage change, io.pgmesh.causal.Lineage.Message ancestors) {
            if (lineage == null) {
                lineage = new java.util.IdentityHashMap<>();
            }
            lineage.put(change, ancestors);
        }

        /** The lineage {@code change} came with, null when its table keeps none. */
        io.pgmesh.causal.Lineage.Message lineageOf(WalMessage change) {
            return lineage == null ? null : lineage.get(change);
        }
    }

    private final StringBuilder sql = new StringBuilder(1 << 16);
    private final List<Entry> entries = new ArrayList<>();
    private int statements;
    private boolean continuation;
    /** Where the last transaction's COMMIT statements begin in {@link #sql}, -1 when none has. */
    private int lastCommitAt = -1;

    /** Opens a transaction in this batch; {@code continued} when it began in an earlier batch. */
    Entry open(RemoteTxn txn, boolean continued) {
        if (continued) {
            continuation = true;
        } else {
            statement("BEGIN");
        }
        Entry e = new Entry(txn);
        entries.add(e);
        return e;
    }

    void add(Entry e, WalMessage change, String statement) {
        e.messages.add(change);
        statement(statement);
    }

    /** Keeps a change whose statement comes later (a run of INSERTs rendered as one statement). */
    void keep(Entry e, WalMessage change) {
        e.messages.add(change);
    }

    void commit(Entry e, Commit c, String commitStatements) {
        e.commit = c;
        lastCommitAt = sql.length();
        statement(commitStatements);
    }

    /** A statement of the transaction whose changes were kept before ({@link #keep}). */
    void statement(String s) {
        sql.append(s).append(";\n");
        statements++;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** True when the batch holds a chunk of a transaction that began in an earlier batch. */
    boolean isContinuation() {
        return continuation;
    }

    boolean isFull() {
        return statements >= maxStatements || sql.length() >= MAX_CHARS;
    }

    /** Twice full: a batch that waits for a transaction's commit stops growing here all the same. */
    boolean isOverfull() {
        return statements >= 2 * maxStatements || sql.length() >= 2 * MAX_CHARS;
    }

    boolean hasCommits() {
        return entries.stream().anyMatch(e -> e.commit != null);
    }

    String sql() {
        return sql.toString();
    }

    /** The query, with the last transaction's COMMIT statements rewritten by {@code lastCommit}. */
    String sql(java.util.function.UnaryOperator<String> lastCommit) {
        if (lastCommitAt < 0) {
            return sql();
        }
        return sql.substring(0, lastCommitAt) + lastCommit.apply(sql.substring(lastCommitAt));
    }

    List<Entry> entries() {
        return entries;
    }

    void clear() {
        sql.setLength(0);
        entries.clear();
        statements = 0;
        continuation = false;
        lastCommitAt = -1;
    }
}
