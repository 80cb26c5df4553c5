package io.pgmesh.apply;

import io.pgmesh.pg.Lsn;
import java.sql.SQLException;
import java.util.List;

/**
 * The rule for a strict batch that failed, the half of exactly-once that lives on the target.
 * The server ran the batch's transactions in order and stopped at the failure: every transaction
 * before the failed one committed, the failed one rolled back, the rest never ran. Which ones
 * committed is read from the target's own progress row, not guessed from the error: a failure at
 * COMMIT (a deferred constraint) looks like a failure of the transaction before it otherwise.
 *
 * <p>The failed transaction is replayed statement by statement with conflict resolution, and
 * the later ones are applied again, carefully. A failed chunk of a transaction begun in an
 * earlier batch cannot be replayed here (its earlier chunks were not kept): that transaction is
 * marked to be applied carefully and the task restarts, so the source sends it again.
 */
final class BatchRecovery {

    /** What recovery does to the target and to the applier; the applier's side of it. */
    interface Steps {
        void rollback() throws SQLException;

        /** The end of the last transaction the target's progress row says was applied. */
        Lsn committedThrough() throws SQLException;

        /** {@code e}'s transaction had committed before the failure. */
        void committed(StrictBatch.Entry e);

        /** Applies the failed transaction statement by statement, its COMMIT too if it has one. */
        void replay(StrictBatch.Entry e) throws SQLException;

        /** Applies a transaction that came after the failed one, carefully. */
        void reapply(StrictBatch.Entry e) throws SQLException;

        /** The transaction must be applied carefully when the source sends it again. */
        void markCareful(RemoteTxn txn);
    }

    private BatchRecovery() {
    }

    static void recover(List<StrictBatch.Entry> sent, boolean continuation, SQLException cause, Steps steps)
            throws SQLException {
        if (continuation) {
            RemoteTxn t = sent.get(0).txn;
            steps.markCareful(t);
            throw new ReplayNeededException("the transaction committed at " + t.finalLsn() + " on " + t.sourceNode()
                    + " met a conflict or error (" + SqlRenderer.describeStrictFailure(cause)
                    + "); it will be received again and applied statement by statement");
        }
        steps.rollback();
        Lsn done = steps.committedThrough();
        int failed = 0;
        while (failed < sent.size() && sent.get(failed).commit != null
                && sent.get(failed).commit.endLsn().compareTo(done) <= 0) {
            steps.committed(sent.get(failed));
            failed++;
        }
        if (failed == sent.size()) {
            throw cause; // nothing failed that a replay could mend
        }
        steps.replay(sent.get(failed));
        for (StrictBatch.Entry e : sent.subList(failed + 1, sent.size())) {
            steps.reapply(e);
        }
    }
}
