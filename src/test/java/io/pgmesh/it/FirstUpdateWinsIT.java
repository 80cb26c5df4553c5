package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.Rule;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.metrics.TaskMetricsSet;
import io.pgmesh.task.MeshRunner;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * First-update-wins decides between concurrent branches of a row by where each began, so that a
 * node that changed the row again before it saw the other node's change decides as that node does.
 * Each case made the nodes end different, for good and without a word, when the rule compared
 * the versions' own commit times.
 */
@Timeout(300)
class FirstUpdateWinsIT {

    /**
     * West changes the row at t1 and again at t3; east changes it at t2, before it has either.
     * East keeps west's t1 over its own t2, then takes t3, which west made after t1. West must
     * keep t3 too: its branch began at t1, before east's.
     */
    @Test
    void aBranchChangedTwiceWinsAsAWholeOnBothNodes() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            MeshConfig config = firstUpdateWins(cluster);
            cluster.sqlAll("CREATE TABLE doc (id int PRIMARY KEY, v text, pad text)");
            MeshRunner runner = cluster.startMesh(config);
            cluster.sql(0, "INSERT INTO doc VALUES (1, 'seed', repeat('p', 3000)), (2, 'seed', NULL)");
            cluster.awaitSettled(Duration.ofSeconds(30));
            runner.close();
            cluster.sql(1, "UPDATE doc SET v = 'west t1'");
            Thread.sleep(20);
            cluster.sql(0, "UPDATE doc SET v = 'east t2' WHERE id = 1; DELETE FROM doc WHERE id = 2");
            Thread.sleep(20);
            cluster.sql(1, "UPDATE doc SET v = 'west t3'");
            cluster.startMesh(config);
            cluster.awaitSettled(Duration.ofSeconds(30));
            for (int n = 0; n < 2; n++) {
                assertEquals(List.of("1 west t3", "2 west t3"), cluster.queryColumn(n,
                        "SELECT id || ' ' || v FROM doc ORDER BY id"), "west's branch began first, on " + cluster.name(n));
            }
            assertEquals(cluster.dump(0, "doc", "id"), cluster.dump(1, "doc", "id"), "the nodes converge");
        }
    }

    /**
     * East changes the row at t1; west has it and changes it at t3. North, seeing neither,
     * changed it at t2. West's t3 continues the branch that began at t1, before north's: every
     * node keeps west's. (Compared by their own times, north's t2 beat west's t3 on west while
     * north took west's t3 after east's t1.)
     */
    @Test
    void aChangeMadeOnAnotherNodesBranchWinsWithThatBranch() throws Exception {
        try (PgCluster cluster = PgCluster.start(3)) {
            MeshConfig config = firstUpdateWins(cluster);
            cluster.sqlAll("CREATE TABLE doc (id int PRIMARY KEY, v text)");
            MeshRunner all = cluster.startMesh(config);
            cluster.sql(0, "INSERT INTO doc VALUES (1, 'seed')");
            cluster.awaitSettled(Duration.ofSeconds(30));
            all.close();
            try (MeshRunner intoWest = cluster.track(new MeshRunner(config, PgCluster.testRetry(),
                    new TaskMetricsSet(MeshRunner.HEARTBEAT_INTERVAL), Set.of(cluster.name(1))))) {
                intoWest.start();
                PgCluster.awaitStreaming(intoWest, Duration.ofSeconds(60));
                cluster.sql(0, "UPDATE doc SET v = 'east t1'");
                PgCluster.await(Duration.ofSeconds(30), "west to have east's change",
                        () -> "east t1".equals(cluster.queryStringOrNull(1, "SELECT v FROM doc")));
            }
            cluster.sql(2, "UPDATE doc SET v = 'north t2'");
            Thread.sleep(20);
            cluster.sql(1, "UPDATE doc SET v = 'west t3, after east'");
            cluster.startMesh(config);
            cluster.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 3; n++) {
                assertEquals("west t3, after east", cluster.queryString(n, "SELECT v FROM doc"),
                        "the branch that began with east's t1 wins, on " + cluster.name(n));
            }
        }
    }

    /**
     * A replicated rename of the table and of its key column: the lineage trigger is rebuilt for
     * the new names on every node, and the application goes on writing (a trigger that named the
     * old table failed every INSERT).
     */
    @Test
    void theApplicationWritesOnAfterItsTableAndKeyAreRenamed() throws Exception {
        try (PgCluster cluster = PgCluster.start(2)) {
            MeshConfig config = firstUpdateWins(cluster);
            cluster.sqlAll("CREATE TABLE doc (id int PRIMARY KEY, v text)");
            MeshRunner runner = cluster.startMesh(config);
            cluster.appSql(0, "INSERT INTO doc VALUES (1, 'a')");
            cluster.awaitSettled(Duration.ofSeconds(30));
            cluster.appSql(0, "ALTER TABLE doc RENAME TO page");
            cluster.awaitSettled(Duration.ofSeconds(30));
            cluster.appSql(1, "ALTER TABLE page RENAME COLUMN id TO page_id");
            cluster.awaitSettled(Duration.ofSeconds(30));
            cluster.appSql(1, "INSERT INTO page VALUES (2, 'b') ON CONFLICT DO NOTHING");
            cluster.appSql(0, "UPDATE page SET v = 'a2' WHERE page_id = 1");
            cluster.appSql(0, "INSERT INTO page VALUES (3, 'c')");
            cluster.awaitSettled(Duration.ofSeconds(30));
            for (int n = 0; n < 2; n++) {
                assertEquals(List.of("1 a2", "2 b", "3 c"), cluster.queryColumn(n,
                        "SELECT page_id || ' ' || v FROM page ORDER BY 1"), "every write arrives on " + cluster.name(n));
                assertEquals(List.of("page_id", "ancestors"), cluster.queryColumn(n, "SELECT attname FROM pg_attribute"
                        + " WHERE attrelid = ('pgmesh.lineage_' || 'page'::regclass::oid)::regclass AND attnum > 0"
                        + " AND NOT attisdropped ORDER BY attnum"), "the lineage follows the key on " + cluster.name(n));
            }
            assertEquals(List.of(), PgCluster.notStreaming(runner), "every task streams on");
        }
    }

    private static MeshConfig firstUpdateWins(PgCluster cluster) {
        return cluster.config().withConflicts(new ConflictSettings(Rule.FIRST_UPDATE_WINS, Map.of(),
                ConflictSettings.OnError.STOP));
    }
}
