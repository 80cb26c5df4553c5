package io.pgmesh.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.progress.FlushPosition;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.Wire;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * What capture confirms to the source, without a server: a position may be confirmed only when
 * everything before it is applied and on disk on the target.
 */
@Timeout(20)
class CaptureConfirmTest {
    private static final long COMMIT_END = 0x3000;
    /** Where the server stands after the transaction: a keepalive told capture so. */
    private static final long SERVER_POSITION = 0x5000;

    /**
     * The race of a Commit that capture has decoded but not yet queued: the filter already counts
     * its transaction as ended, and while capture waits for room in the full queue it confirms.
     * If the applier has by then done everything queued before, nothing is pending in its eyes,
     * and the server's position (past the Commit) would be confirmed although the transaction was
     * never applied; a crash then loses it for good.
     */
    @Test
    void aCommitWaitingForRoomInTheQueueIsNeverConfirmedBeforeItIsApplied() throws Exception {
        FakeStream source = new FakeStream(List.of(begin(), insert(), commit()));
        FlushPosition flush = new FlushPosition(Lsn.of(0x1000));
        CountDownLatch commitWaits = new CountDownLatch(1);
        // Room for the Begin and the Insert only. When the Commit finds the queue full, the
        // applier takes and finishes both at once (the worst moment), and the queue stays "full"
        // for longer than capture's status interval, so capture confirms while it waits.
        ArrayBlockingQueue<WalMessage> queue = new ArrayBlockingQueue<>(2) {
            private boolean drained;

            @Override
            public boolean offer(WalMessage m, long timeout, TimeUnit unit) throws InterruptedException {
                if (m instanceof WalMessage.Commit && !drained) {
                    drained = true;
                    clear();
                    flush.processed();
                    flush.processed();
                    Thread.sleep(1_200);
                    commitWaits.countDown();
                    return false;
                }
                return super.offer(m, timeout, unit);
            }
        };
        Capture capture = new Capture(new ChangeStream(source), queue, flush, io.pgmesh.capture.ReceiveEvents.NONE);
        Thread t = new Thread(capture, "capture under test");
        t.start();
        assertTrue(commitWaits.await(10, TimeUnit.SECONDS), "capture must reach the Commit");
        WalMessage handed = queue.poll(5, TimeUnit.SECONDS);
        assertTrue(handed instanceof WalMessage.Commit, "capture must hand the Commit over after waiting: " + handed);
        capture.stop();
        t.join(5_000);
        for (long confirmed : source.flushed) {
            assertTrue(confirmed < COMMIT_END, "capture confirmed " + Lsn.of(confirmed) + " while the transaction"
                    + " ending at " + Lsn.of(COMMIT_END) + " waited to be queued, never applied");
        }
        assertEquals(null, capture.failure(), "capture must not have failed");
    }

    private static byte[] begin() {
        return Wire.message('B').i64(0x2000).i64(0).i32(700).bytes();
    }

    private static byte[] insert() {
        return Wire.message('I').i32(1).u8('N').i16(1).textColumn("1").bytes();
    }

    private static byte[] commit() {
        return Wire.message('C').u8(0).i64(0x2000).i64(COMMIT_END).i64(0).bytes();
    }

    /** A replication stream that yields the given messages, then reports the server's position as a keepalive would. */
    private static final class FakeStream implements PGReplicationStream {
        private final Queue<byte[]> messages;
        final List<Long> flushed = new CopyOnWriteArrayList<>();
        private volatile long received;

        FakeStream(List<byte[]> messages) {
            this.messages = new ArrayDeque<>(messages);
        }

        @Override
        public ByteBuffer read() {
            return readPending();
        }

        @Override
        public synchronized ByteBuffer readPending() {
            byte[] next = messages.poll();
            if (next == null) {
                return null;
            }
            received = messages.isEmpty() ? SERVER_POSITION : 0x2000;
            return ByteBuffer.wrap(next);
        }

        @Override
        public LogSequenceNumber getLastReceiveLSN() {
            return LogSequenceNumber.valueOf(received);
        }

        @Override
        public LogSequenceNumber getLastFlushedLSN() {
            return LogSequenceNumber.INVALID_LSN;
        }

        @Override
        public LogSequenceNumber getLastAppliedLSN() {
            return LogSequenceNumber.INVALID_LSN;
        }

        @Override
        public void setFlushedLSN(LogSequenceNumber lsn) {
            flushed.add(lsn.asLong());
        }

        @Override
        public void setAppliedLSN(LogSequenceNumber lsn) {
        }

        @Override
        public void forceUpdateStatus() {
        }

        @Override
        public boolean isClosed() {
            return false;
        }

        @Override
        public void close() {
        }
    }
}
