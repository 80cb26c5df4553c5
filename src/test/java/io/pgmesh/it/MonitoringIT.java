package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code run --http} as an operator scrapes it: the metrics the issue names, with real counts of
 * real rows; latency that heartbeats keep measured while nobody writes and that grows while a
 * node is frozen; /health that turns 503 and names the stuck task; /api/status with per-table
 * statistics; and bad addresses refused with exit 2.
 */
@Timeout(300)
class MonitoringIT {
    private static final String PASSWORD = "s3cret-monitoring";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @AutoClose
    static PgCluster cluster;
    @TempDir
    static Path dir;
    static Path mesh;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, v text)");
        cluster.sqlAll("ALTER ROLE postgres PASSWORD '" + PASSWORD + "'");
        mesh = cluster.writeMeshFile(dir);
        Files.writeString(mesh, Files.readString(mesh).replace("    user: postgres\n",
                "    user: postgres\n    password: ${PGMESH_TEST_PASSWORD}\n")
                + "health:\n  max-latency: 8s\nslot-safety:\n  warn-retained-wal: 512MB\n");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    record Answer(int code, String body, long millis) {
    }

    static Answer get(int port, String path) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body(), (System.nanoTime() - t0) / 1_000_000);
    }

    /** The value of one sample of /metrics, or NaN when it is absent. */
    static double sample(String metrics, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels + "}") + " (\\S+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @Test
    void metricsHealthAndStatusTellTheTruthWhileANodeFreezes() throws Exception {
        int port = freePort();
        PgmeshProcess run = PgmeshProcess.start(dir, PgmeshProcess.DEFAULT_JVM_OPTIONS,
                Map.of("PGMESH_TEST_PASSWORD", PASSWORD), "run", "-c", mesh.toString(), "--http", "127.0.0.1:" + port);
        try {
            run.awaitStreaming(Duration.ofSeconds(60), "west->east", "east->west");
            PgCluster.await(Duration.ofSeconds(30), "/health answers 200", () -> {
                try {
                    return get(port, "/health").code() == 200;
                } catch (Exception e) {
                    return false;
                }
            });

            cluster.sql(0, "INSERT INTO items SELECT g, 'v' FROM generate_series(1, 100) g");
            cluster.sql(0, "UPDATE items SET v = 'w' WHERE id <= 30");
            cluster.sql(0, "DELETE FROM items WHERE id BETWEEN 91 AND 100");
            cluster.awaitSettled(Duration.ofSeconds(30));
            PgCluster.await(Duration.ofSeconds(20), "slot figures read", () -> {
                try {
                    return get(port, "/metrics").body().contains("pgmesh_slot_retained_wal_bytes{");
                } catch (Exception e) {
                    return false;
                }
            });

            // Idle for a while: only heartbeats keep the latency measured, and it stays small.
            Thread.sleep(8_000);
            Answer metrics = get(port, "/metrics");
            assertEquals(200, metrics.code());
            String m = metrics.body();
            String ew = "task=\"east->west\"";
            assertEquals(100, sample(m, "pgmesh_changes_applied_total", "op=\"insert\",table=\"public.items\"," + ew), m);
            assertEquals(30, sample(m, "pgmesh_changes_applied_total", "op=\"update\",table=\"public.items\"," + ew));
            assertEquals(10, sample(m, "pgmesh_changes_applied_total", "op=\"delete\",table=\"public.items\"," + ew));
            assertEquals(140, sample(m, "pgmesh_changes_received_total", ew));
            assertEquals(3, sample(m, "pgmesh_transactions_applied_total", ew));
            assertEquals(1, sample(m, "pgmesh_task_up", ew));
            assertEquals(1, sample(m, "pgmesh_task_state", "state=\"streaming\"," + ew));
            assertEquals(0, sample(m, "pgmesh_task_state", "state=\"retrying\"," + ew));
            assertEquals(1, sample(m, "pgmesh_slot_active", "node=\"east\",slot=\"pgmesh_east_west\""));
            assertTrue(sample(m, "pgmesh_slot_retained_wal_bytes", "node=\"east\",slot=\"pgmesh_east_west\"") >= 0);
            assertTrue(sample(m, "pgmesh_replication_lag_bytes", ew) >= 0);
            assertTrue(m.contains("pgmesh_transaction_latency_seconds_bucket{"), "a latency histogram");
            assertTrue(m.contains("jvm_memory_used_bytes"), "JVM metrics from the library");
            for (String task : new String[] {"west->east", "east->west"}) {
                double source = sample(m, "pgmesh_cdc_latency_source_seconds", "task=\"" + task + "\"");
                double target = sample(m, "pgmesh_cdc_latency_target_seconds", "task=\"" + task + "\"");
                assertTrue(source < 3 && target < 3, task + ": idle latency stays small with heartbeats, got source "
                        + source + " s, target " + target + " s\n" + m);
            }
            assertTrue(metrics.millis() < 1000, "/metrics took " + metrics.millis() + " ms");

            Answer status = get(port, "/api/status");
            JsonNode doc = new ObjectMapper().readTree(status.body());
            JsonNode eastWest = null;
            for (JsonNode t : doc.get("tasks")) {
                if (t.get("task").asText().equals("east->west")) {
                    eastWest = t;
                }
            }
            assertTrue(eastWest != null, status.body());
            JsonNode table = eastWest.get("tables").get(0);
            assertEquals("public.items", table.get("table").asText());
            assertEquals(100, table.get("inserts").asLong());
            assertEquals(30, table.get("updates").asLong());
            assertEquals(10, table.get("deletes").asLong());
            assertEquals("ok", doc.get("health").get("status").asText());
            assertTrue(doc.get("status").get("nodes").size() == 2, "the status --json document is inside");
            assertEquals(405, HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode(),
                    "the endpoints are read-only");

            // West frozen for 25 s: east->west cannot apply, west->east receives nothing. Both
            // latencies must grow, not stay at their last good value, and /health must say so.
            cluster.freeze(1);
            Answer during;
            Answer health;
            try {
                Thread.sleep(25_000);
                during = get(port, "/metrics");
                health = get(port, "/health");
            } finally {
                cluster.thaw(1);
            }
            assertTrue(during.millis() < 1000, "/metrics must not wait on a frozen node; took " + during.millis() + " ms");
            double target = sample(during.body(), "pgmesh_cdc_latency_target_seconds", ew);
            double source = sample(during.body(), "pgmesh_cdc_latency_source_seconds", "task=\"west->east\"");
            System.out.printf("MonitoringIT: after 25 s frozen, east->west target latency %.1f s, west->east source"
                    + " latency %.1f s; /metrics answered in %d ms%n", target, source, during.millis());
            assertTrue(target >= 10, "target latency grows while the target is frozen: " + target);
            assertTrue(source >= 10, "source latency grows while the source is frozen: " + source);
            assertEquals(503, health.code(), health.body());
            assertTrue(health.body().contains("east->west"), "/health names the stuck task\n" + health.body());

            cluster.awaitSettled(Duration.ofSeconds(60));
            PgCluster.await(Duration.ofSeconds(60), "/health is 200 again after the node thaws", () -> {
                try {
                    return get(port, "/health").code() == 200;
                } catch (Exception e) {
                    return false;
                }
            });
            for (String path : new String[] {"/metrics", "/health", "/api/status", "/"}) {
                assertFalse(get(port, path).body().contains(PASSWORD), path + " must not show the password");
            }
        } finally {
            run.close();
        }
        assertFalse(run.stdout().contains(PASSWORD) || run.stderr().contains(PASSWORD), "the log must not show the password");
    }

    /**
     * The dashboard in a real browser: the numbers it renders are the process's own, it names the
     * state of every task, shows every slot, and lists a conflict with its key.
     */
    @Test
    void theDashboardRendersTheLiveFiguresInABrowser() throws Exception {
        // A real conflict first: row 1000 reaches both nodes, then both change it while no run applies.
        PgmeshProcess first = PgmeshProcess.start(dir, PgmeshProcess.DEFAULT_JVM_OPTIONS,
                Map.of("PGMESH_TEST_PASSWORD", PASSWORD), "run", "-c", mesh.toString());
        try {
            first.awaitStreaming(Duration.ofSeconds(60), "west->east", "east->west");
            cluster.sql(0, "INSERT INTO items VALUES (1000, 'east') ON CONFLICT (id) DO NOTHING");
            cluster.awaitSettled(Duration.ofSeconds(30));
        } finally {
            first.terminate();
            assertEquals(0, first.waitFor(Duration.ofSeconds(30)), first.tail());
        }
        cluster.sql(0, "UPDATE items SET v = 'east while apart' WHERE id = 1000");
        cluster.sql(1, "UPDATE items SET v = 'west while apart' WHERE id = 1000");

        int port = freePort();
        PgmeshProcess run = PgmeshProcess.start(dir, PgmeshProcess.DEFAULT_JVM_OPTIONS,
                Map.of("PGMESH_TEST_PASSWORD", PASSWORD), "run", "-c", mesh.toString(), "--http", "127.0.0.1:" + port);
        try (Browser browser = Browser.start(dir)) {
            run.awaitStreaming(Duration.ofSeconds(60), "west->east", "east->west");
            cluster.sql(0, "INSERT INTO items SELECT g, 'dash' FROM generate_series(2001, 2042) g");
            cluster.awaitSettled(Duration.ofSeconds(30));
            browser.open("http://127.0.0.1:" + port + "/");
            String[] seen = {""};
            try {
                PgCluster.await(Duration.ofSeconds(30), "the dashboard shows both slots and the conflict, and says ok",
                        () -> {
                            try {
                                String health = browser.text("#health");
                                String conflicts = browser.text("#conflicts tbody");
                                int slots = browser.count("#slots tbody tr");
                                seen[0] = "health " + health + ", " + slots + " slot rows, conflicts: " + conflicts;
                                return "ok".equals(health) && slots == 2 && conflicts != null
                                        && conflicts.contains("1000");
                            } catch (Exception e) {
                                seen[0] = e.toString();
                                return false;
                            }
                        });
            } catch (AssertionError e) {
                browser.screenshot(Path.of("target", "dashboard-failed.png"));
                throw new AssertionError(e.getMessage() + "; last seen: " + seen[0] + "\n/api/status: "
                        + get(port, "/api/status").body(), e);
            }
            JsonNode doc = new ObjectMapper().readTree(get(port, "/api/status").body());
            for (JsonNode t : doc.get("tasks")) {
                String row = "#tasks tr[data-task='" + t.get("task").asText() + "'] ";
                assertEquals("streaming", browser.text(row + "[data-field=state]"));
                assertEquals(t.get("rowsApplied").asText(), browser.text(row + "[data-field=rows-applied]"),
                        "rows applied as the process counts them");
            }
            assertEquals("43", browser.text("#tasks tr[data-task='east->west'] [data-field=rows-applied]"),
                    "east's 42 new rows and its change of row 1000 reached west through this run");
            assertTrue(browser.text("#conflicts tbody").contains("update_differs"), browser.text("#conflicts tbody"));
            assertTrue(browser.count("#graph line") == 2 && browser.count("#graph circle") == 2, "the mesh is drawn");
            Path shot = Path.of("target", "dashboard.png");
            browser.screenshot(shot);
            assertTrue(Files.size(shot) > 10_000, "a screenshot of the rendered page");
        } finally {
            run.close();
        }
    }

    @Test
    void statusWatchRedrawsEverySecondUntilCtrlC() throws Exception {
        PgmeshProcess watch = PgmeshProcess.start(dir, PgmeshProcess.DEFAULT_JVM_OPTIONS,
                Map.of("PGMESH_TEST_PASSWORD", PASSWORD), "status", "-c", mesh.toString(), "--watch");
        try {
            watch.awaitOutput("three frames", out -> out.split("\033\\[H\033\\[2J", -1).length > 3,
                    Duration.ofSeconds(30));
            watch.interrupt();
            assertEquals(0, watch.waitFor(Duration.ofSeconds(15)), "Ctrl-C ends the watch cleanly\n" + watch.tail());
        } finally {
            watch.close();
        }
        String last = watch.stdout().substring(watch.stdout().lastIndexOf("\033[H\033[2J"));
        assertTrue(last.contains("pgmesh status") && last.contains("east->west") && last.contains("node west"),
                "each frame is the whole status view\n" + last);
        assertFalse(watch.output().contains(PASSWORD));
    }

    @Test
    void logFormatJsonWritesOneObjectPerLine() throws Exception {
        PgmeshProcess run = PgmeshProcess.start(dir, PgmeshProcess.DEFAULT_JVM_OPTIONS,
                Map.of("PGMESH_TEST_PASSWORD", PASSWORD), "run", "-c", mesh.toString(), "--log-format", "json");
        try {
            run.awaitStreaming(Duration.ofSeconds(60), "west->east", "east->west");
        } finally {
            run.terminate();
            assertEquals(0, run.waitFor(Duration.ofSeconds(30)), run.tail());
        }
        ObjectMapper json = new ObjectMapper();
        int lines = 0;
        for (String line : run.stderr().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode event = json.readTree(line);
            assertTrue(event.has("level") && event.has("loggerName") && event.has("formattedMessage")
                    && event.has("timestamp"), line);
            lines++;
        }
        assertTrue(lines >= 3, "start, streaming and stop are logged\n" + run.tail());
        PgmeshProcess bad = PgmeshProcess.run(dir, Duration.ofSeconds(30), Map.of(), "status", "-c", mesh.toString(),
                "--log-format", "xml");
        assertEquals(2, bad.exitCode(), bad.tail());
        assertTrue(bad.stderr().contains("--log-format: expected text or json"), bad.tail());
    }

    @Test
    void anAddressThatCannotBeListenedOnIsRefusedWithExit2() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            String busy = "127.0.0.1:" + taken.getLocalPort();
            PgmeshProcess p = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of("PGMESH_TEST_PASSWORD", PASSWORD),
                    "run", "-c", mesh.toString(), "--http", busy);
            assertEquals(2, p.exitCode(), p.tail());
            assertTrue(p.stderr().contains("--http " + busy), "names the address\n" + p.tail());
        }
        PgmeshProcess bad = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of("PGMESH_TEST_PASSWORD", PASSWORD),
                "run", "-c", mesh.toString(), "--http", "localhost");
        assertEquals(2, bad.exitCode(), bad.tail());
        assertTrue(bad.stderr().contains("--http localhost: expected HOST:PORT"), bad.tail());
    }
}
