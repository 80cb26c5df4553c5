package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Both nodes write the same rows at the same moment. Whatever the interleaving, the nodes must
 * end identical, no task may stop over it, and every conflict is on record with its row images.
 */
@Timeout(120)
class ConcurrentConflictIT {
    private static final int HOT_ROWS = 5;
    private static final int ROUNDS = 300;
    private static final int SHARED_NEW_KEYS = 30;

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;
    /** The walsender of each slot when the mesh came up: a different one later means a task reconnected. */
    static Map<String, String> walsenders;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE hot (id int PRIMARY KEY, val text, n int, writer text)");
        cluster.sqlAll("CREATE TABLE doomed (id int PRIMARY KEY, val text)");
        cluster.sqlAll("CREATE TABLE raced (id int PRIMARY KEY, val text)");
        runner = cluster.startMesh();
        walsenders = cluster.walsenderPids();
    }

    @Test
    void simultaneousUpdatesInsertsAndDeletesConverge() throws Exception {
        cluster.sql(0, "INSERT INTO hot SELECT g, 'initial', 0, 'east' FROM generate_series(1, " + HOT_ROWS + ") g");
        cluster.sql(0, "INSERT INTO doomed SELECT g, 'initial' FROM generate_series(1, 10) g");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(HOT_ROWS, cluster.count(1, "SELECT count(*) FROM hot"), "the hot rows must reach west before the race");

        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Integer> east = pool.submit(() -> hammer(0, go));
            Future<Integer> west = pool.submit(() -> hammer(1, go));
            go.countDown();
            assertEquals(ROUNDS * HOT_ROWS, east.get(), "east's application must have updated its rows every time");
            west.get();
        } finally {
            pool.shutdownNow();
        }
        cluster.awaitSettled(Duration.ofSeconds(60));

        assertEquals(cluster.dump(0, "hot", "id"), cluster.dump(1, "hot", "id"),
                "rows updated on both nodes at once must end identical on both (last update wins everywhere)");
        assertEquals(cluster.dump(0, "raced", "id"), cluster.dump(1, "raced", "id"),
                "a key inserted on both nodes at once must end with the same row on both");
        assertEquals(SHARED_NEW_KEYS, cluster.count(0, "SELECT count(*) FROM raced"),
                "every key inserted on both nodes must exist exactly once");
        assertEquals(cluster.dump(0, "doomed", "id"), cluster.dump(1, "doomed", "id"),
                "rows deleted on east while west updated them must end the same on both nodes");
        MeshAssertions.assertTasksNeverStopped(cluster, runner, walsenders);

        for (int n = 0; n < 2; n++) {
            List<String> types = cluster.queryColumn(n, "SELECT DISTINCT conflict_type FROM pgmesh.conflicts ORDER BY 1");
            assertTrue(types.contains("insert_exists"), cluster.name(n)
                    + " must record insert_exists for keys inserted on both nodes at once, recorded: " + types);
            assertTrue(types.contains("update_differs"), cluster.name(n)
                    + " must record update_differs for rows updated on both nodes at once, recorded: " + types);
            MeshAssertions.assertRowImagesRecorded(cluster, n);
        }
    }

    /**
     * West updates a row inside a transaction that commits after east deleted the row but before
     * east's delete reaches west (the delete's apply waits for west's row lock). East then gets an
     * UPDATE of a row it no longer has, west a DELETE of a row it changed since: both nodes must
     * still end the same.
     */
    @Test
    void deleteOnOneNodeRacingAnUpdateOnTheOtherConverges() throws Exception {
        cluster.sql(0, "INSERT INTO doomed VALUES (101, 'initial'), (102, 'initial')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        try (Connection west = cluster.connect(1)) {
            west.setAutoCommit(false);
            try (Statement st = west.createStatement()) {
                assertEquals(1, st.executeUpdate("UPDATE doomed SET val = 'updated on west' WHERE id = 101"),
                        "west must still have row 101 when its update starts");
                cluster.sql(0, "DELETE FROM doomed WHERE id = 101");
                cluster.sql(0, "UPDATE doomed SET val = 'updated on east' WHERE id = 102");
                cluster.sql(1, "DELETE FROM doomed WHERE id = 102");
            }
            west.commit();
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(cluster.dump(0, "doomed", "id"), cluster.dump(1, "doomed", "id"),
                "a row deleted on one node and concurrently updated on the other must end the same on both nodes");
        MeshAssertions.assertTasksNeverStopped(cluster, runner, walsenders);
    }

    /** One node's application: ROUNDS updates of every hot row, a shared new key now and then, deletes on east. */
    private static int hammer(int node, CountDownLatch go) throws Exception {
        String me = cluster.name(node);
        int updated = 0;
        try (Connection c = cluster.connect(node);
             PreparedStatement upd = c.prepareStatement("UPDATE hot SET val = ?, n = ?, writer = ? WHERE id = ?");
             PreparedStatement ins = c.prepareStatement("INSERT INTO raced VALUES (?, ?) ON CONFLICT (id) DO NOTHING");
             PreparedStatement del = c.prepareStatement("DELETE FROM doomed WHERE id = ?");
             PreparedStatement touch = c.prepareStatement("UPDATE doomed SET val = ? WHERE id = ?")) {
            go.await();
            for (int round = 0; round < ROUNDS; round++) {
                for (int id = 1; id <= HOT_ROWS; id++) {
                    upd.setString(1, me + " round " + round);
                    upd.setInt(2, round);
                    upd.setString(3, me);
                    upd.setInt(4, id);
                    updated += upd.executeUpdate();
                }
                if (round % 10 == 0 && round / 10 < SHARED_NEW_KEYS) {
                    ins.setInt(1, 1000 + round / 10);
                    ins.setString(2, "inserted on " + me);
                    ins.executeUpdate();
                }
                int doomedId = 1 + round % 10;
                if (node == 0 && round >= 100 && round < 110) {
                    del.setInt(1, doomedId);
                    del.executeUpdate();
                } else if (node == 1) {
                    touch.setString(1, "touched by west in round " + round);
                    touch.setInt(2, doomedId);
                    touch.executeUpdate();
                }
            }
        } catch (SQLException e) {
            throw new AssertionError(me + "'s application failed while racing the other node: " + e.getMessage(), e);
        }
        return updated;
    }
}
