package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.OnError;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.setup.Initializer;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.io.PrintWriter;
import java.io.StringWriter;
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
 * Failures that used to pass unseen: a task that failed inside a process that still runs, a
 * TRUNCATE that cascaded into tables that are not replicated, a change that failed only at
 * COMMIT and was retried forever, a slot lost right after init and recreated without a word.
 * Each must end in a state the user sees, with the cause named.
 */
@Timeout(180)
class NoSilentFailureIT {
    @AutoClose
    static PgCluster cluster;
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE strict_rows (id int PRIMARY KEY, n int)");
        // Only west refuses negative numbers: east's negative row cannot be applied there.
        cluster.sql(1, "ALTER TABLE strict_rows ADD CONSTRAINT only_positive CHECK (n >= 0)");
        cluster.sqlAll("CREATE TABLE parent (id int PRIMARY KEY)");
        cluster.sqlAll("CREATE TABLE accounts (id int PRIMARY KEY, balance int)");
        // West checks balances at COMMIT, in replicated transactions too (ENABLE ALWAYS). Deferred
        // unique and foreign-key constraints are not checked in apply sessions at all
        // (session_replication_role = replica), as in PostgreSQL's own apply worker.
        cluster.sql(1, """
                CREATE FUNCTION no_overdraft() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF NEW.balance < 0 THEN RAISE EXCEPTION 'account % would be overdrawn', NEW.id; END IF;
                  RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER no_overdraft AFTER INSERT OR UPDATE ON accounts
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_overdraft();
                ALTER TABLE accounts ENABLE ALWAYS TRIGGER no_overdraft""");
        // A table of west alone, not replicated, that references a replicated one.
        cluster.sql(1, "CREATE SCHEMA local; CREATE TABLE local.child (id int PRIMARY KEY, parent_id int REFERENCES parent)");
    }

    private static MeshConfig mesh(OnError onError) {
        return cluster.config(TableSelection.defaults())
                .withConflicts(new ConflictSettings(ConflictSettings.Rule.LAST_UPDATE_WINS, Map.of(), onError));
    }

    private static Task task(MeshRunner runner, String name) {
        return runner.tasks().stream().filter(t -> t.spec().name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aFailedTaskShowsInStatusWithItsCauseWhileTheProcessRuns() throws Exception {
        Path meshFile = cluster.writeMeshFile(dir);
        MeshRunner runner = cluster.startMesh(mesh(OnError.STOP));
        try {
            cluster.sql(0, "INSERT INTO strict_rows VALUES (1, -1)");
            Task eastToWest = task(runner, "east->west");
            PgCluster.await(Duration.ofSeconds(30), "east->west to fail", () -> eastToWest.state() == TaskState.FAILED);
            PgCluster.await(Duration.ofSeconds(30), "status to show the failure", () -> {
                Cli s = Cli.run("status", "-c", meshFile.toString());
                return s.code() == 1 && s.out().contains("failed since") && s.out().contains("only_positive");
            });
            Cli json = Cli.run("status", "--json", "-c", meshFile.toString());
            assertEquals(1, json.code(), "status exits 1 while a task has failed\n" + json);
            JsonNode tasks = new ObjectMapper().readTree(json.out()).get("tasks");
            JsonNode failed = null;
            for (JsonNode t : tasks) {
                if (t.get("task").asText().equals("east->west")) {
                    failed = t.get("run");
                }
            }
            assertTrue(failed != null && failed.get("state").asText().equals("failed")
                            && failed.get("detail").asText().contains("only_positive")
                            && !failed.get("since").asText().isEmpty() && !failed.get("process").asText().isEmpty(),
                    "status --json names the failed task's state, cause, since when and which process: " + failed);
            assertEquals(TaskState.STREAMING, task(runner, "west->east").state(), "the other direction goes on");
        } finally {
            runner.close();
            cluster.sql(0, "DELETE FROM strict_rows");
            cluster.sql(1, "ALTER TABLE strict_rows DROP CONSTRAINT only_positive");
        }
        MeshRunner again = cluster.startMesh(mesh(OnError.STOP));
        again.close();
        Cli after = Cli.run("status", "-c", meshFile.toString());
        assertEquals(0, after.code(), "once the cause is fixed and run applied the change, status is clean\n" + after);
    }

    @Test
    void aTruncateNeverCascadesIntoTablesThatAreNotReplicated() throws Exception {
        MeshRunner runner = cluster.startMesh(mesh(OnError.SKIP));
        try {
            cluster.sql(0, "INSERT INTO parent VALUES (1), (2)");
            cluster.awaitSettled(Duration.ofSeconds(30));
            cluster.sql(1, "INSERT INTO local.child VALUES (10, 1)");
            cluster.sql(0, "TRUNCATE parent");
            cluster.awaitSettled(Duration.ofSeconds(30));
            assertEquals(1, cluster.count(1, "SELECT count(*) FROM local.child"),
                    "west's own table that references the truncated one must keep its rows");
            assertEquals(1, cluster.count(1, "SELECT count(*) FROM pgmesh.apply_errors WHERE operation = 'TRUNCATE'"
                    + " AND sqlstate = '0A000'"), "the TRUNCATE that west cannot apply without cascading is quarantined");
            assertEquals(List.of(), PgCluster.notStreaming(runner), "with on-error: skip no task stops over it");
        } finally {
            runner.close();
        }
    }

    @Test
    void aChangeThatFailsAtCommitGoesThroughOnError() throws Exception {
        MeshRunner runner = cluster.startMesh(mesh(OnError.SKIP));
        try {
            cluster.sql(0, "INSERT INTO accounts VALUES (1, -5)");
            cluster.sql(0, "INSERT INTO accounts VALUES (4, 10)");
            cluster.awaitSettled(Duration.ofSeconds(30));
            assertEquals(1, cluster.count(1, "SELECT count(*) FROM pgmesh.apply_errors WHERE table_name = 'public.accounts'"
                    + " AND sqlstate = 'P0001' AND error LIKE '%would be overdrawn%'"),
                    "the insert whose deferred check fails is quarantined on west");
            assertEquals(1, cluster.count(1, "SELECT count(*) FROM accounts WHERE id = 4"),
                    "the changes after it are applied: the task did not retry the failing commit forever");
            assertEquals(List.of(), PgCluster.notStreaming(runner), "no task stops or retries over it");
        } finally {
            runner.close();
        }
    }

    @Test
    void aSlotLostRightAfterInitStopsTheTaskInsteadOfSkippingChanges() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE t (id int PRIMARY KEY)");
            c.sql(0, "INSERT INTO t SELECT generate_series(1, 10)");
            MeshConfig loadFromEast = new MeshConfig(c.config().nodes(), TableSelection.defaults(), "east");
            StringWriter said = new StringWriter();
            assertTrue(new Initializer(loadFromEast, 1, 0, new PrintWriter(said, true), false).run(), said.toString());
            c.sql(0, "INSERT INTO t VALUES (11)"); // a change after the load's consistent point
            c.sql(0, "SELECT pg_drop_replication_slot('pgmesh_east_west')");

            MeshRunner runner = c.track(new MeshRunner(loadFromEast, PgCluster.testRetry()));
            runner.start();
            Task eastToWest = task(runner, "east->west");
            PgCluster.await(Duration.ofSeconds(30), "east->west to fail", () -> eastToWest.state() == TaskState.FAILED);
            assertTrue(eastToWest.detail().contains("slot pgmesh_east_west is missing on east")
                            && eastToWest.detail().contains("needs a resync"),
                    "the task must say the slot is lost and what to do: " + eastToWest.detail());
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmesh_east_west'"),
                    "no slot may be recreated silently past the lost changes");
            runner.close();
        }
    }
}
