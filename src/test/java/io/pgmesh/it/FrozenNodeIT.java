package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that stops answering without closing its connections, as a hung host or a dropped path
 * does: every process of its server is stopped with SIGSTOP, so its kernel still accepts and
 * acknowledges connections while nothing answers. The tasks between healthy nodes must go on,
 * {@code status} must answer in time and name the node, {@code run} must stop when told to, and
 * after the node thaws everything must catch up.
 */
@Timeout(300)
class FrozenNodeIT {
    private static final String[] TASKS = {"east->west", "west->east", "east->north", "north->east", "west->north",
            "north->west"};
    private static final int NORTH = 2;

    @AutoClose
    static PgCluster cluster;
    @TempDir
    static Path dir;
    static Path mesh;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(3);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, v text)");
        mesh = cluster.writeMeshFile(dir);
    }

    private static void awaitEastWestCaughtUp() throws Exception {
        cluster.awaitTask(0, 1, cluster.currentLsn(0), Duration.ofSeconds(20));
        cluster.awaitTask(1, 0, cluster.currentLsn(1), Duration.ofSeconds(20));
    }

    @Test
    void aFrozenNodeHoldsUpOnlyItsOwnTasksAndEverythingCatchesUpAfterItThaws() throws Exception {
        PgmeshProcess run = PgmeshProcess.start(dir, "run", "-c", mesh.toString());
        try {
            run.awaitStreaming(Duration.ofSeconds(60), TASKS);
            cluster.sql(0, "INSERT INTO items SELECT g, 'before' FROM generate_series(1, 10) g");
            cluster.awaitSettled(Duration.ofSeconds(30));

            cluster.freeze(NORTH);
            try {
                cluster.sql(0, "INSERT INTO items SELECT g, 'east while north froze' FROM generate_series(11, 20) g");
                cluster.sql(1, "INSERT INTO items SELECT g, 'west while north froze' FROM generate_series(21, 30) g");
                awaitEastWestCaughtUp();
                assertEquals(30, cluster.count(1, "SELECT count(*) FROM items"), "east's rows reach west while north is frozen");
                assertEquals(30, cluster.count(0, "SELECT count(*) FROM items"), "west's rows reach east while north is frozen");

                long t0 = System.nanoTime();
                PgmeshProcess status = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "status", "-c", mesh.toString());
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf("FrozenNodeIT: status answered in %.1f s while north was frozen%n", seconds);
                assertTrue(seconds < 30, "status must answer within 30 s while a node is frozen; took " + seconds + " s");
                assertEquals(1, status.exitCode(), "status exits 1 while a node does not answer\n" + status.tail());
                assertTrue(status.stdout().contains("node north: unreachable"), "status names the frozen node\n" + status.tail());
            } finally {
                cluster.thaw(NORTH);
            }
            cluster.awaitSettled(Duration.ofSeconds(120));
            assertEquals(30, cluster.count(NORTH, "SELECT count(*) FROM items"), "north catches up once it thaws");

            cluster.freeze(NORTH);
            try {
                cluster.sql(0, "INSERT INTO items SELECT g, 'east, north frozen again' FROM generate_series(31, 40) g");
                awaitEastWestCaughtUp();
                Thread.sleep(2_000); // east->north is now stuck on a statement that north will not answer
                long t0 = System.nanoTime();
                run.terminate();
                int code = run.waitFor(Duration.ofSeconds(60));
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf("FrozenNodeIT: run exited %.1f s after SIGTERM while north was frozen%n", seconds);
                assertTrue(seconds < 15, "run must exit within 15 s of SIGTERM while a node is frozen; took " + seconds + " s\n"
                        + run.tail());
                assertEquals(0, code, "a stop on request exits 0\n" + run.tail());
            } finally {
                cluster.thaw(NORTH);
            }
        } finally {
            run.close();
        }
        PgmeshProcess again = PgmeshProcess.start(dir, "run", "-c", mesh.toString());
        try {
            again.awaitStreaming(Duration.ofSeconds(60), TASKS);
            cluster.awaitSettled(Duration.ofSeconds(60));
            String east = cluster.dump(0, "items", "id");
            assertEquals(40, cluster.count(NORTH, "SELECT count(*) FROM items"), "north gets what it missed");
            assertEquals(east, cluster.dump(1, "items", "id"), "west ends identical to east");
            assertEquals(east, cluster.dump(NORTH, "items", "id"), "north ends identical to east");
        } finally {
            again.close();
        }
    }
}
