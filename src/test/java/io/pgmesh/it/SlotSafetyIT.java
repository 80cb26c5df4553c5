package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slot whose target stays away, the way a replication tool fills a production disk: first it
 * holds more WAL than slot-safety.warn-retained-wal and every view warns, naming the next step;
 * then the server invalidates it (max_slot_wal_keep_size), and the task stops for good while
 * status, /health and /metrics say so and name the resync.
 */
@Timeout(300)
class SlotSafetyIT {
    @AutoClose
    static PgCluster cluster;
    @TempDir
    static Path dir;
    static Path mesh;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, v text); CREATE SCHEMA scratch");
        mesh = cluster.writeMeshFile(dir);
        Files.writeString(mesh, Files.readString(mesh) + "slot-safety:\n  warn-retained-wal: 16MB\n");
    }

    /** About {@code mb} MB of WAL on east, in a table no task replicates. */
    private static void writeWal(int mb) throws Exception {
        cluster.sql(0, "DROP TABLE IF EXISTS scratch.filler; CREATE TABLE scratch.filler AS"
                + " SELECT g, repeat(md5(g::text), 30) AS pad FROM generate_series(1, " + mb * 1000 + ") g");
    }

    @Test
    void aSlotOverItsBudgetWarnsAndAnInvalidatedOneStopsItsTaskAndNamesTheResync() throws Exception {
        PgmeshProcess first = PgmeshProcess.start(dir, "run", "-c", mesh.toString());
        try {
            first.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            cluster.sql(0, "INSERT INTO items SELECT g, 'before' FROM generate_series(1, 10) g");
            cluster.awaitSettled(Duration.ofSeconds(30));
        } finally {
            first.terminate();
            assertEquals(0, first.waitFor(Duration.ofSeconds(30)), first.tail());
        }

        // West's task is away; east keeps writing.
        writeWal(40);
        PgmeshProcess over = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "status", "-c", mesh.toString());
        assertTrue(over.stdout().contains("! slot pgmesh_east_west holds")
                && over.stdout().contains("over slot-safety.warn-retained-wal")
                && over.stdout().contains("pgmesh remove-node"), "status warns and names the next step\n" + over.tail());
        assertTrue(over.stdout().matches("(?s).*slot pgmesh_east_west +idle .*wal_status reserved .*"),
                "status shows the slot's wal_status\n" + over.stdout());

        // The server's own bound: past it, the slot is invalidated at the next checkpoint.
        cluster.sql(0, "ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'; SELECT pg_reload_conf()");
        cluster.sql(0, "INSERT INTO items VALUES (11, 'lost with the slot')");
        writeWal(80);
        cluster.sql(0, "SELECT pg_switch_wal(); CHECKPOINT");
        writeWal(40);
        cluster.sql(0, "SELECT pg_switch_wal(); CHECKPOINT");
        assertEquals("lost", cluster.queryString(0,
                "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'pgmesh_east_west'"));

        int port = MonitoringIT.freePort();
        PgmeshProcess run = PgmeshProcess.start(dir, "run", "-c", mesh.toString(), "--http", "127.0.0.1:" + port);
        try {
            run.awaitOutput("east->west failed for good", out -> out.contains("task east->west: slot pgmesh_east_west"
                    + " on east is invalidated"), Duration.ofSeconds(60));
            assertTrue(run.output().contains("west needs a resync: pgmesh resync -c <mesh file> west --from east"),
                    "the log names the resync\n" + run.tail());
            PgmeshProcess status = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "status", "-c",
                    mesh.toString());
            assertEquals(1, status.exitCode(), "a failed task makes status exit 1\n" + status.tail());
            assertTrue(status.stdout().contains("INVALIDATED"), status.stdout());
            assertTrue(status.stdout().contains("pgmesh resync -c <mesh file> west --from east"),
                    "status names the exact next step\n" + status.stdout());
            PgCluster.await(Duration.ofSeconds(30), "/health and /metrics say so", () -> {
                try {
                    MonitoringIT.Answer health = MonitoringIT.get(port, "/health");
                    String metrics = MonitoringIT.get(port, "/metrics").body();
                    return health.code() == 503 && health.body().contains("pgmesh resync")
                            && health.body().contains("is invalidated")
                            && MonitoringIT.sample(metrics, "pgmesh_task_up", "task=\"east->west\"") == 0
                            && MonitoringIT.sample(metrics, "pgmesh_slot_wal_warning",
                                    "node=\"east\",slot=\"pgmesh_east_west\"") == 1;
                } catch (Exception e) {
                    return false;
                }
            });
            cluster.sql(1, "INSERT INTO items VALUES (12, 'west still sends')");
            cluster.awaitTask(1, 0, cluster.currentLsn(1), Duration.ofSeconds(30));
            assertEquals(1, cluster.count(0, "SELECT count(*) FROM items WHERE id = 12"),
                    "the other direction goes on");
        } finally {
            run.close();
        }
    }
}
