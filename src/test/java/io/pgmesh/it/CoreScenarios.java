package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The core scenarios that every supported PostgreSQL version must pass: a subclass names the
 * versions of its two nodes. What differs between versions (server-side or client-side loopback
 * filtering, empty transactions sent or not) must not show in any of these results.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
abstract class CoreScenarios {
    private static final int HOT_ROWS = 3;
    private static final int ROUNDS = 100;

    PgCluster cluster;
    MeshRunner runner;
    Map<String, String> walsenders;

    /** The server versions of east and west, e.g. {@code List.of("15.13.0", "15.13.0")}. */
    abstract List<String> versions();

    @BeforeAll
    void start() throws Exception {
        cluster = PgCluster.start(versions(), Map.of());
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
        cluster.sqlAll("CREATE TABLE logs (id int PRIMARY KEY, line text)");
        cluster.sqlAll("CREATE TABLE dups (a int, b text)");
        cluster.sqlAll("ALTER TABLE dups REPLICA IDENTITY FULL");
        cluster.sqlAll("CREATE TABLE hot (id int PRIMARY KEY, val text)");
        cluster.sqlAll("CREATE TABLE raced (id int PRIMARY KEY, val text)");
        runner = cluster.startMesh();
        walsenders = cluster.walsenderPids();
        for (int n = 0; n < 2; n++) {
            assertTrue(cluster.queryString(n, "SELECT version()").contains(" " + versions().get(n).replaceAll("\\.0$", "")),
                    cluster.name(n) + " must run PostgreSQL " + versions().get(n));
        }
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void insertsUpdatesAndDeletesReachTheOtherNodeBothWays() throws Exception {
        cluster.sql(0, "INSERT INTO items SELECT g, 'east ' || g, g FROM generate_series(1, 100) g");
        cluster.sql(1, "INSERT INTO items SELECT g, 'west ' || g, g FROM generate_series(101, 200) g");
        cluster.awaitSettled(Duration.ofSeconds(30)); // each node changes rows of the other next
        cluster.sql(0, "UPDATE items SET qty = qty * 10 WHERE id <= 10");
        cluster.sql(1, "UPDATE items SET name = 'changed on west' WHERE id BETWEEN 11 AND 15");
        cluster.sql(1, "DELETE FROM items WHERE id > 190");
        cluster.sql(0, "DELETE FROM items WHERE id BETWEEN 181 AND 185");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(185, cluster.count(0, "SELECT count(*) FROM items"), "east must hold both nodes' rows less the deleted");
        assertEquals(100, cluster.count(1, "SELECT qty FROM items WHERE id = 10"), "east's update must reach west");
        assertEquals(5, cluster.count(0, "SELECT count(*) FROM items WHERE name = 'changed on west'"),
                "west's update of east's rows must reach east");
        assertEquals(cluster.dump(0, "items", "id"), cluster.dump(1, "items", "id"), "both nodes must hold the same rows");
    }

    @Test
    void truncateReplicatesWithoutComingBack() throws Exception {
        cluster.sql(0, "INSERT INTO logs SELECT g, 'east' FROM generate_series(1, 50) g");
        cluster.sql(1, "INSERT INTO logs SELECT g, 'west' FROM generate_series(51, 100) g");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(1, "TRUNCATE logs");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(0, cluster.count(0, "SELECT count(*) FROM logs"), "west's TRUNCATE must empty the table on east");
        cluster.sql(0, "INSERT INTO logs VALUES (1, 'east after')");
        cluster.sql(1, "INSERT INTO logs VALUES (2, 'west after')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        for (int n = 0; n < 2; n++) {
            assertEquals(2, cluster.count(n, "SELECT count(*) FROM logs"),
                    cluster.name(n) + " must keep the rows written after the truncate: no truncate may come back");
        }
    }

    @Test
    void replicaIdentityFullChangesExactlyOneOfEqualRows() throws Exception {
        cluster.sql(0, "INSERT INTO dups VALUES (1, 'same'), (1, 'same'), (1, 'same'), (2, NULL), (2, NULL)");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(0, "DELETE FROM dups WHERE ctid = (SELECT min(ctid) FROM dups WHERE a = 1)");
        cluster.sql(1, "UPDATE dups SET b = 'changed on west' WHERE ctid = (SELECT min(ctid) FROM dups WHERE a = 2)");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(2, cluster.count(1, "SELECT count(*) FROM dups WHERE a = 1"),
                "deleting one of three equal rows on east must delete exactly one on west");
        assertEquals(1, cluster.count(0, "SELECT count(*) FROM dups WHERE a = 2 AND b IS NULL"),
                "updating one of two equal rows on west must update exactly one on east");
        assertEquals(cluster.dump(0, "dups", "a, b"), cluster.dump(1, "dups", "a, b"), "both nodes must hold the same rows");
    }

    @Test
    void simultaneousWritesOfTheSameRowsConverge() throws Exception {
        cluster.sql(0, "INSERT INTO hot SELECT g, 'initial' FROM generate_series(1, " + HOT_ROWS + ") g");
        cluster.awaitSettled(Duration.ofSeconds(30));
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> writers = List.of(pool.submit(() -> race(0, go)), pool.submit(() -> race(1, go)));
            go.countDown();
            for (Future<?> w : writers) {
                w.get();
            }
        } finally {
            pool.shutdownNow();
        }
        cluster.awaitSettled(Duration.ofSeconds(60));
        assertEquals(cluster.dump(0, "hot", "id"), cluster.dump(1, "hot", "id"),
                "rows updated on both nodes at once must end identical on both");
        assertEquals(cluster.dump(0, "raced", "id"), cluster.dump(1, "raced", "id"),
                "keys inserted on both nodes at once must end with the same row on both");
        MeshAssertions.assertTasksNeverStopped(cluster, runner, walsenders);
        for (int n = 0; n < 2; n++) {
            assertTrue(cluster.count(n, "SELECT count(*) FROM pgmesh.conflicts WHERE conflict_type = 'update_differs'") > 0,
                    cluster.name(n) + " must record the update_differs conflicts it resolved");
            MeshAssertions.assertRowImagesRecorded(cluster, n);
        }
    }

    private Void race(int node, CountDownLatch go) throws Exception {
        String me = cluster.name(node);
        try (Connection c = cluster.connect(node);
             PreparedStatement upd = c.prepareStatement("UPDATE hot SET val = ? WHERE id = ?");
             PreparedStatement ins = c.prepareStatement("INSERT INTO raced VALUES (?, ?) ON CONFLICT (id) DO NOTHING")) {
            go.await();
            for (int round = 0; round < ROUNDS; round++) {
                for (int id = 1; id <= HOT_ROWS; id++) {
                    upd.setString(1, me + " round " + round);
                    upd.setInt(2, id);
                    upd.executeUpdate();
                }
                if (round % 10 == 0) {
                    ins.setInt(1, round);
                    ins.setString(2, "inserted on " + me);
                    ins.executeUpdate();
                }
            }
        }
        return null;
    }
}
