package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A backlog of thousands of small transactions, queued while pgmesh was stopped, is applied in
 * batches that run on the target while the next one is built; conflicts sit in the middle of it.
 * A failed batch must send the transactions built after it through recovery in their order:
 * every row lands once, counters end at their exact totals, and both nodes converge.
 */
@Timeout(180)
class BacklogApplyIT {
    private static final int TXNS = 4000;
    private static final int COUNTERS = 10;
    /** Ledger keys that west inserts on its own before the backlog reaches it: insert_exists, late in the backlog. */
    private static final int[] CLASHING_KEYS = {1500, 2600, 3900};

    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)");
        cluster.sqlAll("CREATE TABLE ledger (id int PRIMARY KEY, counter int NOT NULL, note text)");
    }

    @Test
    void aBacklogWithConflictsInTheMiddleAppliesEveryTransactionOnceAndConverges() throws Exception {
        MeshRunner first = cluster.startMesh();
        cluster.sql(0, "INSERT INTO counters SELECT g, 0 FROM generate_series(1, " + COUNTERS + ") g");
        cluster.awaitSettled(Duration.ofSeconds(30));
        first.close();

        // West writes first, so east's later transactions are newer and win under last-update-wins.
        cluster.sql(1, "UPDATE counters SET n = -1000 WHERE id = 5");
        for (int key : CLASHING_KEYS) {
            cluster.sql(1, "INSERT INTO ledger VALUES (" + key + ", 0, 'west, older')");
        }
        // One source transaction per iteration: an increment and a ledger row.
        cluster.sql(0, "DO $$ BEGIN FOR k IN 1.." + TXNS + " LOOP"
                + " UPDATE counters SET n = n + 1 WHERE id = k % " + COUNTERS + " + 1;"
                + " INSERT INTO ledger VALUES (k, k % " + COUNTERS + " + 1, 'east ' || k);"
                + " COMMIT; END LOOP; END $$");

        MeshRunner runner = cluster.startMesh();
        cluster.awaitSettled(Duration.ofSeconds(120));
        assertTrue(PgCluster.notStreaming(runner).isEmpty(), "tasks not streaming: " + PgCluster.notStreaming(runner));

        for (int node = 0; node < 2; node++) {
            String name = cluster.name(node);
            assertEquals(TXNS, cluster.count(node, "SELECT count(*) FROM ledger"), name + ": ledger rows");
            assertEquals(0, cluster.count(node, "SELECT count(*) FROM ledger WHERE note <> 'east ' || id"),
                    name + ": every ledger row must be east's (newer) version");
            assertEquals(TXNS, cluster.count(node, "SELECT sum(n) FROM counters"), name + ": sum of the counters");
            assertEquals(TXNS / COUNTERS, cluster.count(node, "SELECT min(n) FROM counters"),
                    name + ": each counter counts its own increments exactly, counter 5 included");
        }
        assertEquals(cluster.dump(0, "ledger", "id"), cluster.dump(1, "ledger", "id"), "ledger differs between the nodes");
        assertEquals(cluster.dump(0, "counters", "id"), cluster.dump(1, "counters", "id"), "counters differ");
        long conflictsOnWest = cluster.count(1, "SELECT count(*) FROM pgmesh.conflicts");
        assertTrue(conflictsOnWest >= 1 + CLASHING_KEYS.length,
                "west must have met (and logged) the update of counter 5 and the clashing inserts, logged " + conflictsOnWest);
        assertFalse(runner.anyFailed(), "no task may fail");
    }
}
