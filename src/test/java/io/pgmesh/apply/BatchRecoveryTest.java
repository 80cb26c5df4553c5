package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What happens after a strict batch failed, without a server: which transactions count as
 * committed, which is replayed, which are applied again, and when the source must send one again.
 */
@Timeout(10)
class BatchRecoveryTest {
    private static final Instant AT = Instant.parse("2026-12-01T10:00:00Z");
    private static final SQLException CONFLICT = new SQLException("strict statement changed 0 rows", "P0001");

    /** Records the steps in order; the target's progress row says {@code committedThrough}. */
    private static final class Recorded implements BatchRecovery.Steps {
        final List<String> steps = new ArrayList<>();
        final Lsn committedThrough;

        Recorded(long committedThrough) {
            this.committedThrough = Lsn.of(committedThrough);
        }

        @Override
        public void rollback() {
            steps.add("rollback");
        }

        @Override
        public Lsn committedThrough() {
            steps.add("read progress");
            return committedThrough;
        }

        @Override
        public void committed(StrictBatch.Entry e) {
            steps.add("committed " + e.txn.finalLsn());
        }

        @Override
        public void replay(StrictBatch.Entry e) {
            steps.add("replay " + e.txn.finalLsn());
        }

        @Override
        public void reapply(StrictBatch.Entry e) {
            steps.add("reapply " + e.txn.finalLsn());
        }

        @Override
        public void markCareful(RemoteTxn txn) {
            steps.add("careful " + txn.finalLsn());
        }
    }

    /** A batch of transactions at these LSNs, each with one INSERT; the last one open if {@code lastOpen}. */
    private static List<StrictBatch.Entry> batch(boolean lastOpen, long... lsns) {
        StrictBatch b = new StrictBatch();
        for (int i = 0; i < lsns.length; i++) {
            StrictBatch.Entry e = b.open(new RemoteTxn("west", AT, Lsn.of(lsns[i])), false);
            b.add(e, new WalMessage.Insert(1, TupleData.ofText(Long.toString(lsns[i]))), "EXECUTE i");
            if (!lastOpen || i < lsns.length - 1) {
                b.commit(e, new WalMessage.Commit(0, Lsn.of(lsns[i]), Lsn.of(lsns[i] + 8), AT), "EXECUTE c; COMMIT");
            }
        }
        return b.entries();
    }

    @Test
    void whatCommittedBeforeTheFailureCountsTheFailedOneIsReplayedAndTheRestAppliedAgain() throws SQLException {
        Recorded steps = new Recorded(0x208);  // the transaction ending at 0x208 committed, the next did not
        BatchRecovery.recover(batch(false, 0x100, 0x200, 0x300, 0x400), false, CONFLICT, steps);
        assertEquals(List.of("rollback", "read progress", "committed 0/100", "committed 0/200", "replay 0/300",
                "reapply 0/400"), steps.steps);
    }

    @Test
    void aFailureOfTheFirstTransactionCommitsNothing() throws SQLException {
        Recorded steps = new Recorded(0x50);
        BatchRecovery.recover(batch(false, 0x100, 0x200), false, CONFLICT, steps);
        assertEquals(List.of("rollback", "read progress", "replay 0/100", "reapply 0/200"), steps.steps);
    }

    /** A failure at COMMIT (a deferred constraint) is told by the progress row, not by the error. */
    @Test
    void aTransactionWhoseProgressIsNotOnTheTargetIsReplayedEvenIfItsStatementsRan() throws SQLException {
        Recorded steps = new Recorded(0x108);
        BatchRecovery.recover(batch(false, 0x100, 0x200), false, CONFLICT, steps);
        assertEquals(List.of("rollback", "read progress", "committed 0/100", "replay 0/200"), steps.steps);
    }

    @Test
    void theTransactionBeingReceivedIsReplayedAsFarAsItCame() throws SQLException {
        Recorded steps = new Recorded(0x108);
        BatchRecovery.recover(batch(true, 0x100, 0x200), false, CONFLICT, steps);
        assertEquals(List.of("rollback", "read progress", "committed 0/100", "replay 0/200"), steps.steps);
    }

    @Test
    void whenEveryTransactionCommittedTheFailureIsNotOneAReplayCanMend() {
        Recorded steps = new Recorded(0x208);
        SQLException thrown = assertThrows(SQLException.class,
                () -> BatchRecovery.recover(batch(false, 0x100, 0x200), false, CONFLICT, steps));
        assertSame(CONFLICT, thrown, "the task fails with the server's own error and retries");
        assertEquals(List.of("rollback", "read progress", "committed 0/100", "committed 0/200"), steps.steps);
    }

    @Test
    void aFailedChunkOfABigTransactionMakesTheSourceSendItAgainToBeAppliedCarefully() {
        Recorded steps = new Recorded(0);
        ReplayNeededException e = assertThrows(ReplayNeededException.class,
                () -> BatchRecovery.recover(batch(true, 0x900), true, CONFLICT, steps));
        assertEquals(List.of("careful 0/900"), steps.steps, "nothing of it is replayed here: its first chunks are gone");
        assertTrue(e.getMessage().contains("0/900") && e.getMessage().contains("west"),
                "the log names the transaction and its source: " + e.getMessage());
    }
}
