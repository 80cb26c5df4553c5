package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code pgmesh run} does when a node fails under it: a node that crashes and comes back is
 * retried with backoff and nothing is lost; a slot that disappeared after its target applied
 * changes from it stops that task for good with the resync it needs, and the mesh goes on.
 *
 * <p>The second test leaves east->west broken for good, so it runs last.
 */
@Timeout(180)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeFailureIT {
    private static final int EAST = 0;
    private static final int WEST = 1;

    @AutoClose
    static PgCluster cluster;
    static Path mesh;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id bigint PRIMARY KEY, node text NOT NULL, note text)");
        mesh = cluster.writeMeshFile(dir);
    }

    @Test
    @Order(1)
    void aCrashedNodeIsRetriedWithBackoffAndNothingIsLost() throws Exception {
        try (PgmeshProcess pgmesh = PgmeshProcess.start(dir, "run", "-c", mesh.toString())) {
            pgmesh.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            cluster.sql(WEST, "INSERT INTO items SELECT g, 'west', 'before the crash' FROM generate_series(1, 100) g");
            pgmesh.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));

            Writer writer = new Writer(EAST, 1_000_000);
            Thread thread = new Thread(writer, "writer east");
            thread.start();
            try {
                // West has applied some of the writer's rows before it crashes.
                writer.awaitCommitted(100);
                Lsn mark = cluster.currentLsn(EAST);
                pgmesh.explainFailure(() -> cluster.awaitTask(EAST, WEST, mark, Duration.ofSeconds(30)));

                cluster.server(WEST).stopImmediately();
                int atCrash = writer.committed.size();
                // Both tasks touch west; each fails again and again, its delay doubling up to 16 s.
                pgmesh.awaitOutput("both tasks retrying with a delay doubled four times",
                        out -> out.contains("task east->west: retrying in 16 s")
                                && out.contains("task west->east: retrying in 16 s"), Duration.ofSeconds(90));
                writer.awaitCommitted(atCrash + 100); // east keeps taking writes while west is down
                cluster.server(WEST).restart();
                long restarted = System.nanoTime();

                // Its heartbeats written again, west's tasks retry at once, not at the end of 16 s.
                pgmesh.awaitOutput("both tasks streaming again after the restart",
                        out -> count(out, "task east->west: streaming from") >= 2
                                && count(out, "task west->east: streaming from") >= 2, Duration.ofSeconds(60));
                long seconds = (System.nanoTime() - restarted) / 1_000_000_000L;
                assertTrue(seconds < 10, "streaming again " + seconds + " s after west answered\n" + pgmesh.tail());
                writer.awaitCommitted(writer.committed.size() + 100); // and while the tasks resume
            } finally {
                writer.stop();
                thread.join(30_000);
            }
            assertTrue(writer.failure == null, () -> "the writer on east failed: " + writer.failure);
            cluster.sql(WEST, "INSERT INTO items SELECT g, 'west', 'after the restart' FROM generate_series(101, 200) g");
            pgmesh.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));

            String out = pgmesh.output();
            for (String task : List.of("east->west", "west->east")) {
                assertTrue(out.contains("task " + task + ": retrying in 1 s because "),
                        "the first retry of " + task + " waits 1 s\n" + pgmesh.tail());
                assertTrue(out.contains("task " + task + ": retrying in 2 s because node west: "),
                        "the second retry of " + task + " waits twice as long and names the node that is down\n"
                                + pgmesh.tail());
            }
            assertEquals(writer.committed.size() + 200, cluster.count(WEST, "SELECT count(*) FROM items"),
                    "west must hold every row east's writer committed, before, during and after its crash,"
                            + " and its own 200\n" + pgmesh.tail());
            assertEquals(200, cluster.count(EAST, "SELECT count(*) FROM items WHERE node = 'west'"),
                    "west's rows from before the crash and after the restart must reach east\n" + pgmesh.tail());
            assertEquals(cluster.dump(EAST, "items", "id"), cluster.dump(WEST, "items", "id"),
                    "both nodes must hold the same rows after the catch-up");
            assertTrue(pgmesh.isAlive(), "a node that comes back must not end pgmesh\n" + pgmesh.tail());

            pgmesh.terminate();
            assertEquals(0, pgmesh.waitFor(Duration.ofSeconds(30)), "pgmesh run must exit 0 on SIGTERM\n" + pgmesh.tail());
        }
    }

    @Test
    @Order(2)
    void aDroppedSlotStopsItsTaskWithTheResyncItNeedsAndTheOtherDirectionGoesOn() throws Exception {
        String slot = "pgmesh_east_west";
        try (PgmeshProcess first = PgmeshProcess.start(dir, "run", "-c", mesh.toString())) {
            first.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            cluster.sql(EAST, "INSERT INTO items VALUES (2000001, 'east', 'applied on west before the slot is dropped')");
            first.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));
            first.terminate();
            assertEquals(0, first.waitFor(Duration.ofSeconds(30)), "pgmesh run must exit 0 on SIGTERM\n" + first.tail());
        }
        assertEquals(1, cluster.count(WEST, "SELECT count(*) FROM items WHERE id = 2000001"),
                "west has applied changes from " + slot);
        // The walsender lets go of the slot a moment after pgmesh closed its connection.
        PgCluster.await(Duration.ofSeconds(30), slot + " to become inactive", () -> slotCount(EAST,
                "slot_name = '" + slot + "' AND NOT active") == 1);
        cluster.sql(EAST, "SELECT pg_drop_replication_slot('" + slot + "')");
        cluster.sql(EAST, "INSERT INTO items VALUES (2000002, 'east', 'written while the slot is missing')");

        try (PgmeshProcess pgmesh = PgmeshProcess.start(dir, "run", "-c", mesh.toString())) {
            pgmesh.awaitOutput("east->west to fail for good", out -> out.contains("task east->west: slot " + slot
                    + " is missing on east"), Duration.ofSeconds(60));
            String out = pgmesh.output();
            assertTrue(Pattern.compile("ERROR pgmesh\\.task - task east->west: slot " + slot + " is missing on east"
                            + " although west has applied its changes up to [0-9A-F]+/[0-9A-F]+; .*west needs a resync:"
                            + " pgmesh resync -c <mesh file> west --from east rebuilds").matcher(out).find(),
                    "the error must name the slot, say what was lost and how to resync\n" + pgmesh.tail());
            assertEquals(0, slotCount(EAST, "slot_name = '" + slot + "'"),
                    "the slot must not be recreated: a fresh slot would silently skip every change made meanwhile");

            cluster.sql(WEST, "INSERT INTO items VALUES (3000001, 'west', 'after the slot of the other task was dropped')");
            Lsn mark = cluster.currentLsn(WEST);
            pgmesh.explainFailure(() -> cluster.awaitTask(WEST, EAST, mark, Duration.ofSeconds(30)));
            assertEquals(1, cluster.count(EAST, "SELECT count(*) FROM items WHERE id = 3000001"),
                    "west->east must keep replicating while east->west is stopped\n" + pgmesh.tail());
            assertTrue(pgmesh.isAlive(), "one failed task must not end the process\n" + pgmesh.tail());
            assertFalse(pgmesh.output().contains("task east->west: retrying"),
                    "a lost slot is not retried: no retry can bring the skipped changes back\n" + pgmesh.tail());
            assertEquals(0, slotCount(EAST, "slot_name = '" + slot + "'"), "the slot must stay missing");

            pgmesh.terminate();
            assertEquals(1, pgmesh.waitFor(Duration.ofSeconds(30)),
                    "pgmesh run must exit 1 when a task has failed for good\n" + pgmesh.tail());
            assertTrue(pgmesh.output().contains("task west->east: stopped"), "the healthy task stops cleanly\n"
                    + pgmesh.tail());
        }
    }

    private static long slotCount(int node, String where) {
        try {
            return cluster.count(node, "SELECT count(*) FROM pg_replication_slots WHERE " + where);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** Inserts single-row transactions on one node, paced, and keeps the ids it committed. */
    private static final class Writer implements Runnable {
        private static final long PACE_NANOS = 2_000_000;
        final int node;
        final long firstId;
        final List<Long> committed = new CopyOnWriteArrayList<>();
        volatile boolean running = true;
        volatile Throwable failure;

        Writer(int node, long firstId) {
            this.node = node;
            this.firstId = firstId;
        }

        @Override
        public void run() {
            try (Connection c = cluster.connect(node);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO items VALUES (?, ?, 'written by the writer')")) {
                long next = System.nanoTime();
                for (long id = firstId; running; id++) {
                    next += PACE_NANOS;
                    LockSupport.parkNanos(next - System.nanoTime());
                    ps.setLong(1, id);
                    ps.setString(2, cluster.name(node));
                    ps.executeUpdate(); // autocommit: returns once committed
                    committed.add(id);
                }
            } catch (Throwable t) {
                failure = t;
            }
        }

        void awaitCommitted(int n) throws InterruptedException {
            PgCluster.await(Duration.ofSeconds(30), "the writer to commit " + n + " rows",
                    () -> committed.size() >= n || failure != null);
            assertTrue(failure == null, () -> "the writer failed: " + failure);
        }

        void stop() {
            running = false;
        }
    }
}
