package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.apply.SqlRenderer;
import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.Rule;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.metrics.TaskMetricsSet;
import io.pgmesh.task.MeshRunner;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A conflict means concurrent. A change made after its node had applied the local version is
 * causally later: it applies without a conflict and whatever the clocks say. Changes made while
 * the nodes could not see each other are still conflicts, resolved as before.
 */
@Timeout(300)
class CausalConflictIT {
    private static final int ROUNDS = 10;
    private static final Path FAKETIME = Path.of("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1");

    /**
     * The check inside the strict batch, on a real server: a causally later change must stay on
     * the fast path, not fall back to the careful one (where it would also apply, only slowly).
     */
    @Test
    void theFastPathGuardPassesAVersionTheSourceHadSeenAndOnlyThat() throws Exception {
        try (PgCluster cluster = PgCluster.start(1); Connection c = cluster.connect(0); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO t VALUES (1, 'local')");
            st.execute("CREATE TEMP TABLE pgmesh_seen (roident oid PRIMARY KEY, through timestamptz NOT NULL)");
            String guard = "SELECT " + SqlRenderer.sameOriginGuard(7, null) + " FROM t";
            assertEquals(List.of("f"), column(st, guard), "a local version nobody had seen is not passed");
            st.execute("INSERT INTO pgmesh_seen VALUES (0, clock_timestamp())");
            assertEquals(List.of("t"), column(st, guard), "a local version the source had seen is passed");
            st.execute("UPDATE t SET v = 'again'");
            assertEquals(List.of("f"), column(st, guard), "a newer local version is not");
        }
    }

    private static List<String> column(Statement st, String sql) throws java.sql.SQLException {
        List<String> out = new java.util.ArrayList<>();
        try (java.sql.ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getBoolean(1) ? "t" : "f");
            }
        }
        return out;
    }

    @Test
    void alternatingWritersOnTwoNodesMakeNoConflicts() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            alternate(cluster, cluster.config());
        }
    }

    @Test
    void alternatingWritersOnThreeNodesMakeNoConflicts() throws Exception {
        try (PgCluster cluster = PgCluster.start(List.of("15.13.0", "17.5.0", "15.13.0"), Map.of())) {
            alternate(cluster, cluster.config());
        }
    }

    /**
     * West's clock runs 5 s behind. Each update is made after its node had the other's, so each
     * must survive: with last-update-wins by clock alone east kept its own version of the
     * counter, west kept west's, and they stayed different forever.
     */
    @Test
    void causallyOrderedUpdatesSurviveAClockFiveSecondsBehind() throws Exception {
        if (!Files.exists(FAKETIME)) {
            throw new IllegalStateException("libfaketime is needed for this test and is not installed at " + FAKETIME
                    + ": install the Debian package libfaketime (.ci/run does)");
        }
        try (PgCluster cluster = PgCluster.start(2)) {
            cluster.server(1).restartWithEnvironment(Map.of("LD_PRELOAD", FAKETIME.toString(), "FAKETIME", "-5s",
                    "DONT_FAKE_MONOTONIC", "1"));
            long skewMs = Math.round(1000 * (Double.parseDouble(cluster.queryString(0,
                    "SELECT extract(epoch FROM clock_timestamp())")) - Double.parseDouble(cluster.queryString(1,
                    "SELECT extract(epoch FROM clock_timestamp())"))));
            assertTrue(skewMs > 4000, "west's clock must run about 5 s behind east's, is " + skewMs + " ms");
            alternate(cluster, cluster.config());
        }
    }

    /** With causal detection first-update-wins decides only concurrent versions, so it converges too. */
    @Test
    void firstUpdateWinsConvergesForAlternatingWriters() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            alternate(cluster, cluster.config().withConflicts(new ConflictSettings(Rule.FIRST_UPDATE_WINS, Map.of(),
                    ConflictSettings.OnError.STOP)));
        }
    }

    /**
     * North changes a row; west has north's version, then changes the row itself. East gets west's
     * version first (north's stream to east is held back), north's afterwards. North never saw
     * west's version, yet north's change is not concurrent with it: west had seen north's. With
     * first-update-wins, weighing them as concurrent would keep north's (older) version on east
     * while west and north keep west's, for ever.
     */
    @Test
    void aChangeThatTheLocalVersionsNodeHadSeenIsNoConflictAndLoses() throws Exception {
        try (PgCluster cluster = PgCluster.start(3)) {
            cluster.sqlAll("CREATE TABLE gate (id int PRIMARY KEY, v text)");
            cluster.sqlAll("CREATE TABLE doc (id int PRIMARY KEY, v text)");
            cluster.startMesh(cluster.config().withConflicts(new ConflictSettings(Rule.FIRST_UPDATE_WINS, Map.of(),
                    ConflictSettings.OnError.STOP)));
            cluster.sql(0, "INSERT INTO gate VALUES (1, 'seed'); INSERT INTO doc VALUES (1, 'seed')");
            cluster.awaitSettled(Duration.ofSeconds(30));
            try (Connection east = cluster.connect(0)) {
                east.setAutoCommit(false);
                try (Statement st = east.createStatement()) {
                    // North's transaction changes the gate first: on east it waits for this lock.
                    st.execute("SELECT * FROM gate WHERE id = 1 FOR UPDATE");
                }
                cluster.sql(2, "BEGIN; UPDATE gate SET v = 'north' WHERE id = 1;"
                        + " UPDATE doc SET v = 'north' WHERE id = 1; COMMIT");
                PgCluster.await(Duration.ofSeconds(30), "west to have north's doc",
                        () -> "north".equals(cluster.queryStringOrNull(1, "SELECT v FROM doc")));
                cluster.sql(1, "UPDATE doc SET v = 'west, after north' WHERE id = 1");
                PgCluster.await(Duration.ofSeconds(30), "east to have west's doc before north's",
                        () -> "west, after north".equals(cluster.queryStringOrNull(0, "SELECT v FROM doc")));
                east.rollback();
            }
            cluster.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 3; n++) {
                assertEquals("west, after north", cluster.queryString(n, "SELECT v FROM doc"),
                        "west's change came after north's: it stays on " + cluster.name(n));
                assertEquals("north", cluster.queryString(n, "SELECT v FROM gate"));
                assertEquals(List.of(), cluster.queryColumn(n, "SELECT conflict_type FROM pgmesh.conflicts"),
                        "nothing here was concurrent: no conflict on " + cluster.name(n));
            }
        }
    }

    /** Updates made while replication was stopped are concurrent: still conflicts, resolved and converged. */
    @Test
    void concurrentUpdatesAreStillConflicts() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            cluster.sqlAll("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL, by text)");
            MeshRunner runner = cluster.startMesh();
            cluster.sql(0, "INSERT INTO counter VALUES (1, 0, 'east')");
            cluster.awaitSettled(Duration.ofSeconds(30));
            runner.close();
            cluster.sql(0, "UPDATE counter SET n = 100, by = 'east' WHERE id = 1");
            cluster.sql(1, "UPDATE counter SET n = 200, by = 'west' WHERE id = 1");
            cluster.startMesh();
            cluster.awaitSettled(Duration.ofSeconds(30));
            assertEquals(cluster.dump(0, "counter", "id"), cluster.dump(1, "counter", "id"), "the nodes converge");
            assertEquals("200", cluster.queryString(0, "SELECT n FROM counter"), "the later update wins");
            for (int n = 0; n < 2; n++) {
                assertEquals(List.of("update_differs"), cluster.queryColumn(n,
                        "SELECT conflict_type FROM pgmesh.conflicts"), "on " + cluster.name(n) + " it is a conflict");
            }
        }
    }

    /**
     * Nodes that start with the same rows (a restored backup, a DMS full load): a backlog of one
     * node's updates to those rows was made after the other node's versions, not concurrently.
     */
    @Test
    void aBacklogOnNodesSeededIdenticallyDrainsWithoutConflicts() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            cluster.sqlAll("CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL, note text)");
            cluster.sqlAll("INSERT INTO account SELECT g, 0, 'seed' FROM generate_series(1, 2000) g");
            MeshRunner runner = cluster.startMesh();
            runner.close();
            cluster.sql(1, "UPDATE account SET balance = balance + id WHERE id % 2 = 0");
            cluster.sql(1, "UPDATE account SET balance = balance + 1, note = 'again' WHERE id % 3 = 0");
            cluster.sql(1, "DELETE FROM account WHERE id % 10 = 0");
            cluster.sql(0, "UPDATE account SET note = 'east' WHERE id = 1");
            cluster.startMesh();
            cluster.awaitSettled(Duration.ofSeconds(60));
            assertEquals(cluster.dump(0, "account", "id"), cluster.dump(1, "account", "id"), "the nodes converge");
            assertEquals(1800, cluster.count(0, "SELECT count(*) FROM account"));
            for (int n = 0; n < 2; n++) {
                assertEquals(0, cluster.count(n, "SELECT count(*) FROM pgmesh.conflicts"),
                        "no conflict on " + cluster.name(n) + ": " + cluster.queryColumn(n,
                                "SELECT conflict_type || ' ' || key_values::text FROM pgmesh.conflicts LIMIT 5"));
            }
        }
    }

    /**
     * The first run of nodes seeded alike, where east's stream toward west starts before west's
     * toward east: west's apply session opens before west records when its own stream began.
     * East's later updates of seeded rows were made after west's seeded versions all the same, and
     * are no conflict once that stream exists.
     */
    @Test
    void seededRowsAreNoConflictWhenTheOtherDirectionStartsLater() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            cluster.sqlAll("CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL)");
            cluster.sqlAll("INSERT INTO account SELECT g, 0 FROM generate_series(1, 10) g");
            MeshRunner toWest = startOnly(cluster, cluster.name(1));
            assertEquals(0, cluster.count(1, "SELECT count(*) FROM pgmesh.slot_start"),
                    "west's own stream has not begun: its apply session knows no start of it");
            startOnly(cluster, cluster.name(0));
            cluster.sql(0, "UPDATE account SET balance = balance + id");
            cluster.awaitSettled(Duration.ofSeconds(30));
            assertEquals(cluster.dump(0, "account", "id"), cluster.dump(1, "account", "id"), "the nodes converge");
            assertEquals(List.of(), cluster.queryColumn(1, "SELECT conflict_type || ' ' || key_values::text"
                    + " FROM pgmesh.conflicts"), "east's updates came after west's seeded rows: no conflict on west");
            assertTrue(PgCluster.notStreaming(toWest).isEmpty(), "east->west streams: " + PgCluster.notStreaming(toWest));
        }
    }

    /** A process that runs only the task into {@code target}, streaming when this returns. */
    private static MeshRunner startOnly(PgCluster cluster, String target) throws Exception {
        MeshRunner runner = cluster.track(new MeshRunner(cluster.config(), PgCluster.testRetry(),
                new TaskMetricsSet(MeshRunner.HEARTBEAT_INTERVAL), Set.of(target)));
        runner.start();
        PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
        return runner;
    }

    /**
     * Each node in turn increments the counter once it has the previous increment: {@code ROUNDS}
     * updates, none concurrent. Every node ends with all of them, and none is logged as a conflict.
     */
    private static void alternate(PgCluster cluster, MeshConfig config) throws Exception {
        cluster.sqlAll("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL, by text)");
        cluster.startMesh(config);
        cluster.sql(0, "INSERT INTO counter VALUES (1, 0, 'east')");
        awaitValue(cluster, 0);
        for (int i = 1; i <= ROUNDS; i++) {
            int node = i % cluster.size();
            cluster.sql(node, "UPDATE counter SET n = n + 1, by = '" + cluster.name(node) + "' WHERE id = 1");
            awaitValue(cluster, i);
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        for (int n = 0; n < cluster.size(); n++) {
            assertEquals(String.valueOf(ROUNDS), cluster.queryString(n, "SELECT n FROM counter"),
                    "every increment survives on " + cluster.name(n));
            assertEquals(List.of(), cluster.queryColumn(n,
                    "SELECT conflict_type || ' ' || resolution FROM pgmesh.conflicts"),
                    "alternating writers are not concurrent: no conflict on " + cluster.name(n));
        }
    }

    /** Waits until every node's counter reads {@code n}: the next writer has seen the last update. */
    private static void awaitValue(PgCluster cluster, int n) throws InterruptedException {
        PgCluster.await(Duration.ofSeconds(30), "every node to have counter " + n, () -> {
            for (int i = 0; i < cluster.size(); i++) {
                if (!String.valueOf(n).equals(cluster.queryStringOrNull(i, "SELECT n FROM counter"))) {
                    return false;
                }
            }
            return true;
        });
    }
}
