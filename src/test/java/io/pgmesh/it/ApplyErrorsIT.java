package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.OnError;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.pg.Lsn;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.nio.file.Files;
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
 * Changes that no conflict rule can decide: a unique index on the target that the source lacks
 * refuses a row. With {@code on-error: stop} the task stops at that change and holds its position
 * until the cause is gone; with {@code skip} the change is quarantined in pgmesh.apply_errors, the
 * rest of its transaction and everything after it applies, and {@code pgmesh retry} /
 * {@code pgmesh discard} deal with it later.
 */
@Timeout(240)
class ApplyErrorsIT {
    @AutoClose
    static PgCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        for (String t : List.of("stopped", "skipped")) {
            cluster.sqlAll("CREATE TABLE " + t + " (id int PRIMARY KEY, email text NOT NULL, note text)");
            // Only west refuses a second row with the same email: east's rows then fail there.
            cluster.sql(1, "CREATE UNIQUE INDEX " + t + "_email ON " + t + " (email)");
        }
    }

    private static MeshConfig mesh(OnError onError) {
        return cluster.config().withConflicts(new ConflictSettings(ConflictSettings.Rule.LAST_UPDATE_WINS, Map.of(), onError));
    }

    private static Task task(MeshRunner runner, String name) {
        return runner.tasks().stream().filter(t -> t.spec().name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void onErrorStopStopsTheTaskAtTheChangeAndAppliesItOnceTheCauseIsFixed() throws Exception {
        MeshRunner runner = cluster.startMesh(mesh(OnError.STOP));
        Lsn failing;
        try {
            cluster.sql(0, "INSERT INTO stopped VALUES (1, 'a@example.com', 'first')");
            cluster.awaitCaughtUp(Duration.ofSeconds(30));
            Lsn before = cluster.originProgress(0, 1);
            cluster.sql(0, "INSERT INTO stopped VALUES (2, 'a@example.com', 'same email')");
            failing = cluster.currentLsn(0);
            cluster.sql(0, "INSERT INTO stopped VALUES (3, 'c@example.com', 'later')");
            Task eastToWest = task(runner, "east->west");
            PgCluster.await(Duration.ofSeconds(30), "task east->west to stop", () -> eastToWest.state() == TaskState.FAILED);

            String why = eastToWest.detail();
            assertTrue(why.contains("INSERT of public.stopped key {\"id\":\"2\"} committed on east at LSN ")
                    && why.contains("duplicate key value violates unique constraint \"stopped_email\"")
                    && why.contains("23505") && !why.contains("\n"), "the task must say in one line which change failed"
                    + " (node, table, key, LSN) and why: " + why);
            assertEquals(List.of("1"), cluster.queryColumn(1, "SELECT id::text FROM stopped ORDER BY id"),
                    "neither the failed change nor the one after it may be applied on west");
            assertEquals(before, cluster.originProgress(0, 1), "the origin must stay before the failed transaction");
            assertEquals(TaskState.STREAMING, task(runner, "west->east").state(), "the other direction goes on");
        } finally {
            runner.close();
        }
        assertTrue(cluster.originProgress(0, 1).compareTo(failing) < 0, "stopping must not move the position");

        cluster.sql(1, "DROP INDEX stopped_email"); // the person fixes the cause
        MeshRunner again = cluster.startMesh(mesh(OnError.STOP));
        try {
            assertEquals(List.of("1", "2", "3"), cluster.queryColumn(1, "SELECT id::text FROM stopped ORDER BY id"),
                    "after the fix and a restart the held change and the ones after it apply");
            assertEquals(List.of(), PgCluster.notStreaming(again));
        } finally {
            again.close();
        }
    }

    @Test
    void onErrorSkipQuarantinesTheChangeAndRetryAndDiscardDealWithIt() throws Exception {
        Path meshFile = cluster.writeMeshFile(dir);
        Files.writeString(meshFile, Files.readString(meshFile) + "conflicts:\n  on-error: skip\n");
        MeshRunner runner = cluster.startMesh(mesh(OnError.SKIP));
        try {
            cluster.sql(0, "INSERT INTO skipped VALUES (1, 'a@example.com', 'first')");
            cluster.sql(0, "BEGIN; INSERT INTO skipped VALUES (2, 'a@example.com', 'same email');"
                    + " INSERT INTO skipped VALUES (3, 'c@example.com', 'same transaction'); COMMIT");
            cluster.sql(0, "INSERT INTO skipped VALUES (4, 'd@example.com', 'later')");
            cluster.awaitCaughtUp(Duration.ofSeconds(30));

            assertEquals(List.of("1", "3", "4"), cluster.queryColumn(1, "SELECT id::text FROM skipped ORDER BY id"),
                    "the rest of the transaction and what follows must apply on west");
            assertEquals(List.of(), PgCluster.notStreaming(runner), "no task may stop with on-error: skip");
            assertEquals(List.of("east|west|public.skipped|INSERT|{\"id\": \"2\"}|{\"id\": \"2\", \"note\": \"same email\","
                            + " \"email\": \"a@example.com\"}|23505|t|t"),
                    cluster.queryColumn(1, "SELECT concat_ws('|', source_node, target_node, table_name, operation, key_values,"
                            + " new_row, sqlstate, error LIKE '%skipped_email%',"
                            + " remote_commit_lsn IS NOT NULL AND remote_commit_time IS NOT NULL) FROM pgmesh.apply_errors"),
                    "west must quarantine the change with its row image and why");
            String id = "west:" + cluster.queryString(1, "SELECT id FROM pgmesh.apply_errors");

            PgmeshProcess busy = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "retry", "-c",
                    meshFile.toString(), id);
            assertEquals(1, busy.exitCode(), busy.tail());
            assertTrue(busy.stderr().contains("is in use by pgmesh run") && busy.stderr().contains("stop pgmesh run"),
                    "a retry while run applies from east must say why it cannot: " + busy.stderr());

            PgmeshProcess listed = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "conflicts", "-c",
                    meshFile.toString());
            assertEquals(0, listed.exitCode(), listed.tail());
            assertTrue(listed.stdout().contains("public.skipped") && listed.stdout().contains("ERROR " + id + ": ")
                    && listed.stdout().contains("INSERT"), "pgmesh conflicts must list the quarantined change:\n"
                    + listed.stdout());
        } finally {
            runner.close();
        }

        cluster.sql(1, "UPDATE skipped SET email = 'a-old@example.com' WHERE id = 1"); // the fix, made on west
        String id = "west:" + cluster.queryString(1, "SELECT id FROM pgmesh.apply_errors");
        PgmeshProcess retried = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "retry", "-c",
                meshFile.toString(), id);
        assertEquals(0, retried.exitCode(), retried.tail());
        assertTrue(retried.stdout().contains("applied " + id), retried.stdout());
        assertEquals("same email", cluster.queryString(1, "SELECT note FROM skipped WHERE id = 2"), "retry must apply it");
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM pgmesh.apply_errors"), "and remove it from the quarantine");
        assertEquals(cluster.queryString(0, "SELECT pg_xact_commit_timestamp(xmin)::text FROM skipped WHERE id = 2"),
                cluster.queryString(1, "SELECT pg_xact_commit_timestamp(xmin)::text FROM skipped WHERE id = 2"),
                "the retried row carries the source's commit time, as an applied one does");

        MeshRunner again = cluster.startMesh(mesh(OnError.SKIP));
        try {
            cluster.awaitSettled(Duration.ofSeconds(30));
            // (West's fix of row 1 reaches east as update_differs: a row of east's changed on west.)
            assertEquals(List.of(), cluster.queryColumn(0, "SELECT conflict_type || ' ' || key_values FROM pgmesh.conflicts"
                            + " WHERE table_name = 'public.skipped' AND key_values->>'id' = '2'"),
                    "the retried insert must not echo back to east (it would meet east's row 2 as insert_exists)");
            assertEquals(cluster.dump(0, "skipped", "id"), cluster.dump(1, "skipped", "id"), "both nodes agree now");

            cluster.sql(0, "INSERT INTO skipped VALUES (5, 'c@example.com', 'to be dropped')");
            cluster.awaitCaughtUp(Duration.ofSeconds(30));
            String dropped = "west:" + cluster.queryString(1, "SELECT id FROM pgmesh.apply_errors");
            PgmeshProcess discarded = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "discard", "-c",
                    meshFile.toString(), dropped);
            assertEquals(0, discarded.exitCode(), discarded.tail());
            assertTrue(discarded.stdout().contains("discarded " + dropped), discarded.stdout());
            assertEquals(0, cluster.count(1, "SELECT count(*) FROM pgmesh.apply_errors"), "discard must remove it");
            assertNull(cluster.queryString(1, "SELECT id FROM skipped WHERE id = 5"), "and never apply it");

            PgmeshProcess unknown = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "discard", "-c",
                    meshFile.toString(), dropped);
            assertEquals(1, unknown.exitCode(), unknown.tail());
            assertTrue(unknown.stderr().contains("no apply error " + dropped), unknown.stderr());
        } finally {
            again.close();
        }
    }
}
