package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stopping {@code pgmesh run} while a session on a target holds a row lock that pgmesh's change
 * waits for: the process ends at once instead of waiting for the lock (which that session may hold
 * for hours), and the change is applied exactly once after the next start.
 */
@Timeout(180)
class StopWhileBlockedIT {
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
        cluster.sqlAll("CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL, edits int NOT NULL DEFAULT 0)");
        mesh = cluster.writeMeshFile(dir);
    }

    @Test
    void stoppingDoesNotWaitForARowLockOnATargetAndTheChangeIsAppliedOnceAfterwards() throws Exception {
        try (PgmeshProcess run = PgmeshProcess.start(dir, "run", "-c", mesh.toString())) {
            run.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            cluster.sql(EAST, "INSERT INTO items VALUES (1, 'first', 0)");
            run.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(30)));

            try (Connection locker = cluster.connect(WEST); Statement st = locker.createStatement()) {
                locker.setAutoCommit(false);
                st.execute("SELECT * FROM items WHERE id = 1 FOR UPDATE");
                cluster.sql(EAST, "UPDATE items SET note = 'second', edits = edits + 1 WHERE id = 1");
                PgCluster.await(Duration.ofSeconds(30), "west's apply session to wait for the row lock",
                        () -> cluster.countOrMinusOne(WEST, "SELECT count(*) FROM pg_stat_activity"
                                + " WHERE application_name LIKE 'pgmesh apply%' AND wait_event_type = 'Lock'") == 1);

                long stopping = System.nanoTime();
                run.terminate();
                assertEquals(0, run.waitFor(Duration.ofSeconds(20)), "run must exit 0 on SIGTERM\n" + run.tail());
                double seconds = (System.nanoTime() - stopping) / 1e9;
                assertTrue(seconds < 5, "run took " + seconds + " s to stop while the lock was held\n" + run.tail());
                assertTrue(run.stderr().contains("task east->west: stopped"), run.tail());
                // A backend waiting for a lock does not notice its client has gone; cancelled, it does.
                PgCluster.await(Duration.ofSeconds(10), "every pgmesh session on west to end while the lock is held",
                        () -> cluster.countOrMinusOne(WEST, "SELECT count(*) FROM pg_stat_activity"
                                + " WHERE application_name LIKE 'pgmesh%'") == 0);
                assertEquals("first", cluster.queryString(WEST, "SELECT note FROM items WHERE id = 1"),
                        "the change waiting for the lock was rolled back");
                locker.rollback();
            }
        }

        try (PgmeshProcess again = PgmeshProcess.start(dir, "run", "-c", mesh.toString())) {
            again.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            again.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(30)));
            assertEquals("second 1", cluster.queryString(WEST, "SELECT note || ' ' || edits FROM items WHERE id = 1"),
                    "the change is applied after the restart");
            assertEquals(cluster.dump(EAST, "items", "id"), cluster.dump(WEST, "items", "id"));
        }
    }
}
