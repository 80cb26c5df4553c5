package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The logs of conflicts and apply errors do not grow without bound: a run removes rows older than
 * the retention (in batches), keeps the newer ones, and status and /metrics show how much each
 * node keeps, tombstones included.
 */
@Timeout(240)
class RetentionIT {

    @Test
    void oldConflictsAndApplyErrorsGoAndWhatIsKeptIsShown(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE items (id int PRIMARY KEY, v text)");
            Path mesh = c.writeMeshFile(dir);
            Files.writeString(mesh, Files.readString(mesh) + "retention:\n  conflicts: 7d\n");
            Cli init = Cli.run("init", "-c", mesh.toString());
            assertEquals(0, init.code(), init.toString());
            // 12,000 conflicts from 8 days ago (more than two batches), 3 from yesterday; apply
            // errors from 100 and from 10 days ago (the default keeps 90 days).
            c.sql(1, """
                    INSERT INTO pgmesh.conflicts (recorded_at, source_node, target_node, table_name, conflict_type, resolution)
                    SELECT now() - interval '8 days' + g * interval '1 ms', 'east', 'west', 'public.items',
                           'update_differs', 'apply_remote' FROM generate_series(1, 12000) g;
                    INSERT INTO pgmesh.conflicts (recorded_at, source_node, target_node, table_name, conflict_type, resolution)
                    SELECT now() - interval '1 day', 'east', 'west', 'public.items', 'update_differs', 'keep_local'
                      FROM generate_series(1, 3);
                    INSERT INTO pgmesh.apply_errors (recorded_at, source_node, target_node, table_name, operation,
                                                     remote_commit_lsn, remote_commit_time, error)
                    VALUES (now() - interval '100 days', 'east', 'west', 'public.items', 'insert', '0/1', now(), 'old'),
                           (now() - interval '100 days', 'east', 'west', 'public.items', 'insert', '0/2', now(), 'old'),
                           (now() - interval '10 days', 'east', 'west', 'public.items', 'insert', '0/3', now(), 'recent')""");

            int port = MonitoringIT.freePort();
            PgmeshProcess run = PgmeshProcess.start(dir, "run", "-c", mesh.toString(), "--http", "127.0.0.1:" + port);
            try {
                run.awaitOutput("the retention's first round", out -> out.contains("node west: removed 12000"
                        + " conflict(s) older than 7d and 2 apply error(s) older than 90d (retention)"),
                        Duration.ofSeconds(60));
                assertEquals(3, c.count(1, "SELECT count(*) FROM pgmesh.conflicts"), "yesterday's are kept");
                assertEquals("recent", c.queryString(1, "SELECT string_agg(error, ',') FROM pgmesh.apply_errors"));
                run.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
                c.sql(0, "INSERT INTO items SELECT g, 'x' FROM generate_series(1, 10) g; DELETE FROM items WHERE id <= 4");
                c.awaitSettled(Duration.ofSeconds(30));

                PgmeshProcess status = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "status", "-c",
                        mesh.toString());
                assertTrue(status.stdout().matches("(?s).*node west .*\n  kept conflicts 3 rows \\([^)]+\\), apply errors"
                        + " 1 rows \\([^)]+\\), tombstones 4 rows \\([^)]+\\).*"), status.stdout());
                PgCluster.await(Duration.ofSeconds(30), "/metrics to show what west keeps", () -> {
                    try {
                        String metrics = MonitoringIT.get(port, "/metrics").body();
                        return MonitoringIT.sample(metrics, "pgmesh_control_table_rows",
                                "node=\"west\",table=\"conflicts\"") == 3
                                && MonitoringIT.sample(metrics, "pgmesh_control_table_rows",
                                "node=\"west\",table=\"tombstones\"") == 4
                                && MonitoringIT.sample(metrics, "pgmesh_control_table_bytes",
                                "node=\"west\",table=\"conflicts\"") > 0;
                    } catch (Exception e) {
                        return false;
                    }
                });
                Cli conflicts = Cli.run("conflicts", "-c", mesh.toString(), "--since", "30d");
                assertTrue(conflicts.out().contains("3 conflict(s), 1 apply error(s)"), conflicts.toString());
                assertTrue(conflicts.out().contains("note: conflicts older than 7d (retention.conflicts) were removed"),
                        conflicts.toString());
            } finally {
                run.close();
            }
        }
    }
}
