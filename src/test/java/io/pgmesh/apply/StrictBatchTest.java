package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The batch of whole transactions, without a server: what it sends and what it keeps for a replay. */
@Timeout(10)
class StrictBatchTest {
    private static final Instant AT = Instant.parse("2026-12-01T10:00:00Z");

    private static RemoteTxn txn(long lsn) {
        return new RemoteTxn("east", AT, Lsn.of(lsn));
    }

    private static WalMessage.Insert insert(int id) {
        return new WalMessage.Insert(1, TupleData.ofText(Integer.toString(id)));
    }

    private static WalMessage.Commit commit(long lsn) {
        return new WalMessage.Commit(0, Lsn.of(lsn), Lsn.of(lsn + 8), AT);
    }

    @Test
    void eachTransactionIsOneTargetTransactionAndKeepsItsMessagesForAReplay() {
        StrictBatch b = new StrictBatch();
        StrictBatch.Entry first = b.open(txn(0x100), false);
        b.add(first, insert(1), "EXECUTE i(1)");
        b.commit(first, commit(0x100), "EXECUTE c; COMMIT");
        StrictBatch.Entry second = b.open(txn(0x200), false);
        b.keep(second, insert(2));
        b.keep(second, insert(3));
        b.statement("EXECUTE i2(2, 3)");
        b.commit(second, commit(0x200), "EXECUTE c; COMMIT");

        assertEquals("BEGIN;\nEXECUTE i(1);\nEXECUTE c; COMMIT;\nBEGIN;\nEXECUTE i2(2, 3);\nEXECUTE c; COMMIT;\n", b.sql(),
                "every transaction opens with BEGIN and ends with its progress and COMMIT, in source order");
        assertEquals(List.of(1, 2), b.entries().stream().map(e -> e.messages.size()).toList(),
                "a run of INSERTs rendered as one statement still keeps each change for a careful replay");
        assertTrue(b.hasCommits());
        assertFalse(b.isContinuation(), "a batch of whole transactions is no continuation");
        assertEquals("BEGIN;\nEXECUTE i(1);\nEXECUTE c; COMMIT;\nBEGIN;\nEXECUTE i2(2, 3);\nLAST: EXECUTE c; COMMIT;\n",
                b.sql(last -> "LAST: " + last), "only the last transaction's commit is rewritten (it carries the beacon)");
        b.clear();
        assertTrue(b.isEmpty() && b.sql().isEmpty() && !b.hasCommits(), "a cleared batch holds nothing");
        assertEquals("", b.sql(last -> "LAST: " + last));
    }

    @Test
    void batchesGrowWithTheRoundTripToTheTargetUpToABound() {
        StrictBatch b = new StrictBatch();
        assertEquals(500, b.fitTo(java.time.Duration.ofMillis(1)), "next to the target: the size tuned for CPU");
        assertEquals(2000, b.fitTo(java.time.Duration.ofMillis(20)), "20 ms away: four times as many per round trip");
        assertEquals(StrictBatch.MAX_STATEMENTS_FAR, b.fitTo(java.time.Duration.ofMillis(80)));
        StrictBatch.Entry e = b.open(txn(0x100), false);
        for (int i = 0; i < 1998; i++) {
            b.add(e, insert(i), "EXECUTE i(" + i + ")");
        }
        assertFalse(b.isFull(), "1999 statements fit a batch sized for 80 ms");
        b.fitTo(java.time.Duration.ofMillis(1));
        assertTrue(b.isFull(), "and overflow one sized for 1 ms");
    }

    @Test
    void aTransactionBegunInAnEarlierBatchContinuesWithoutBegin() {
        StrictBatch b = new StrictBatch();
        StrictBatch.Entry e = b.open(txn(0x300), true);
        b.add(e, insert(4), "EXECUTE i(4)");
        assertEquals("EXECUTE i(4);\n", b.sql(), "the chunk of a transaction already open on the server has no BEGIN");
        assertTrue(b.isContinuation(), "its failure cannot be replayed from this batch alone");
        assertFalse(b.hasCommits(), "a chunk without its commit has no commit yet");
    }

    @Test
    void aBatchIsFullAt500StatementsAndOverfullAtTwiceThat() {
        StrictBatch b = new StrictBatch();
        StrictBatch.Entry e = b.open(txn(0x400), false);
        for (int i = 1; i < 499; i++) {
            b.add(e, insert(i), "S");
        }
        assertFalse(b.isFull(), "499 statements (BEGIN included) are not full");
        b.add(e, insert(499), "S");
        assertTrue(b.isFull() && !b.isOverfull(), "500 statements are full, not overfull");
        for (int i = 500; i < 1000; i++) {
            b.add(e, insert(i), "S");
        }
        assertTrue(b.isOverfull(), "1,000 statements are overfull: a batch waiting for a commit stops there");
    }
}
