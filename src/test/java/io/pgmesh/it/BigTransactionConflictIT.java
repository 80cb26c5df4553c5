package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.pgmesh.task.MeshRunner;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A transaction too big for one batch sends its INSERTs as COPY. Conflicts inside it must still be
 * found and resolved as for any transaction: a key the target already holds (newer there), and a
 * key the target deleted after the source inserted it (the delete is newer and must win, on both
 * nodes).
 */
@Timeout(180)
class BigTransactionConflictIT {
    private static final int ROWS = 80_000;
    /** Far past the first batch, so both reach the target through COPY. */
    private static final int TAKEN_KEY = 75_000;
    private static final int DELETED_KEY = 70_007;
    private static final String KEY_PREFIX = "k\"\\,{} ";

    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
    }

    @Test
    void aKeyTheTargetDeletedLaterStaysDeletedOnBothNodes() throws Exception {
        // Text keys with the characters an array literal must escape: the check matches them exactly.
        String key = "'" + KEY_PREFIX + DELETED_KEY + "'";
        afterABigTransaction("deleted", "text", "'" + KEY_PREFIX + "' || g", () -> {
            cluster.sql(1, "INSERT INTO deleted VALUES (" + key + ", 'west, deleted next')");
            cluster.sql(1, "DELETE FROM deleted WHERE id = " + key);
        });
        for (int node = 0; node < 2; node++) {
            assertEquals(ROWS - 1, cluster.count(node, "SELECT count(*) FROM deleted"), cluster.name(node) + ": rows");
            assertNull(cluster.queryString(node, "SELECT note FROM deleted WHERE id = " + key),
                    cluster.name(node) + ": the newer delete must win over the big transaction's insert");
        }
        assertEquals(cluster.dump(0, "deleted", "id"), cluster.dump(1, "deleted", "id"), "the nodes differ");
    }

    @Test
    void aKeyTheTargetHoldsInANewerVersionKeepsItOnBothNodes() throws Exception {
        afterABigTransaction("taken", "int", "g", () -> cluster.sql(1, "INSERT INTO taken VALUES (" + TAKEN_KEY + ", 'west, newer')"));
        for (int node = 0; node < 2; node++) {
            assertEquals(ROWS, cluster.count(node, "SELECT count(*) FROM taken"), cluster.name(node) + ": rows");
            assertEquals("west, newer", cluster.queryString(node, "SELECT note FROM taken WHERE id = " + TAKEN_KEY),
                    cluster.name(node) + ": the newer version of the taken key");
        }
        assertEquals(cluster.dump(0, "taken", "id"), cluster.dump(1, "taken", "id"), "the nodes differ");
    }

    private interface Step {
        void run() throws Exception;
    }

    /** East inserts ROWS rows in one transaction while pgmesh is stopped; then west does {@code westLater}; then replication. */
    private static void afterABigTransaction(String table, String keyType, String keyOfG, Step westLater) throws Exception {
        cluster.sqlAll("CREATE TABLE " + table + " (id " + keyType + " PRIMARY KEY, note text)");
        cluster.startMesh().close(); // the table is in the mesh, with its tombstone trigger; what follows queues up
        cluster.sql(0, "INSERT INTO " + table + " SELECT " + keyOfG + ", 'east ' || g FROM generate_series(1, " + ROWS + ") g");
        westLater.run(); // later than east's commit: west's versions are newer under last-update-wins
        try (MeshRunner runner = cluster.startMesh()) {
            cluster.awaitSettled(Duration.ofSeconds(120));
        }
    }
}
