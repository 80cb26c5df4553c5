package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgmesh.pg.Lsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line as a user meets it: {@code pgmesh run} and {@code pgmesh status} in a JVM of
 * their own, with a mesh file, environment variables and signals. Every node's password comes
 * from {@code ${PGMESH_TEST_PASSWORD}} (the test servers trust any password), and no output of
 * any command may ever show it.
 */
@Timeout(180)
class CliEndToEndIT {
    private static final String PASSWORD_VARIABLE = "PGMESH_TEST_PASSWORD";
    private static final String PASSWORD = "pw-" + UUID.randomUUID();
    private static final Map<String, String> ENV = Map.of(PASSWORD_VARIABLE, PASSWORD);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    /** A port nothing listens on: connections are refused at once. */
    private static final int UNREACHABLE_PORT = 1;

    @AutoClose
    static PgCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, note text)");
    }

    @Test
    void aPortThatIsNotANumberEndsRunAndStatusWithExit2AndOneLineNamingTheKey() throws Exception {
        Path d = Files.createDirectories(dir.resolve("bad-port"));
        Path mesh = write(d, node("east", cluster.server(0).port()) + node("west", cluster.server(1).port())
                .replaceFirst("port: \\d+", "port: \"abc\""));
        for (String command : List.of("run", "status")) {
            PgmeshProcess p = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, command, "-c", mesh.toString());
            assertEquals(2, p.exitCode(), command + " with a broken mesh file is a usage error\n" + p.tail());
            assertEquals("mesh.yaml: nodes[1].port: expected an integer 1..65535, got \"abc\"", p.stderr().strip(),
                    command + " must print exactly the one problem, with the file, the key and the value");
            assertEquals("", p.stdout(), command + " prints nothing else");
            assertNoPassword(p);
        }
    }

    @Test
    void anUnknownKeyEndsRunWithExit2NamingTheKey() throws Exception {
        Path d = Files.createDirectories(dir.resolve("unknown-key"));
        Path mesh = write(d, node("east", cluster.server(0).port()).replace("    host:", "    hots: typo\n    host:")
                + node("west", cluster.server(1).port()));
        PgmeshProcess p = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "run", "-c", mesh.toString());
        assertEquals(2, p.exitCode(), "an unknown key is a usage error, not something to ignore\n" + p.tail());
        assertEquals("mesh.yaml: nodes[0].hots: unknown key", p.stderr().strip(), "the message names the key");
        assertNoPassword(p);
    }

    @Test
    void runStopsWithExit0OnSigtermAndStatusShowsEveryTaskWhileItRunsAndAfter() throws Exception {
        Path d = Files.createDirectories(dir.resolve("run-and-status"));
        Path mesh = write(d, node("east", cluster.server(0).port()) + node("west", cluster.server(1).port()));
        List<PgmeshProcess> all = new ArrayList<>();
        try (PgmeshProcess run = PgmeshProcess.start(d, PgmeshProcess.DEFAULT_JVM_OPTIONS, ENV, "run", "-c",
                mesh.toString())) {
            all.add(run);
            run.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            cluster.sql(0, "INSERT INTO items VALUES (1, 'from east')");
            cluster.sql(1, "INSERT INTO items VALUES (2, 'from west')");
            run.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));

            PgmeshProcess status = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "status", "-c", mesh.toString());
            all.add(status);
            assertEquals(0, status.exitCode(), "status exits 0 when every node answers\n" + status.tail());
            assertTaskTable(status.stdout(), "active");

            PgmeshProcess json = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "status", "--json", "-c", mesh.toString());
            all.add(json);
            assertEquals(0, json.exitCode(), "status --json exits 0 when every node answers\n" + json.tail());
            assertJsonStatus(json.stdout(), true);

            run.terminate();
            assertEquals(0, run.waitFor(Duration.ofSeconds(30)), "run must exit 0 on SIGTERM\n" + run.tail());
            for (String task : List.of("east->west", "west->east")) {
                assertTrue(run.stderr().contains("task " + task + ": stopped"), "run must log that " + task
                        + " stopped\n" + run.tail());
            }
        }
        // The walsenders let go of the slots a moment after run closed its connections.
        PgCluster.await(Duration.ofSeconds(30), "both slots to become inactive",
                () -> cluster.countOrMinusOne(0, "SELECT count(*) FROM pg_replication_slots WHERE active") == 0
                        && cluster.countOrMinusOne(1, "SELECT count(*) FROM pg_replication_slots WHERE active") == 0);
        PgmeshProcess after = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "status", "-c", mesh.toString());
        all.add(after);
        assertEquals(0, after.exitCode(), "status works without run: it reads the nodes\n" + after.tail());
        assertTaskTable(after.stdout(), "idle");
        PgmeshProcess jsonAfter = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "status", "--json", "-c", mesh.toString());
        all.add(jsonAfter);
        assertEquals(0, jsonAfter.exitCode(), "status --json works without run\n" + jsonAfter.tail());
        assertJsonStatus(jsonAfter.stdout(), false);
        all.forEach(CliEndToEndIT::assertNoPassword);
    }

    @Test
    void anUnreachableNodeIsNamedByStatusAndRetriedByRunAndItsPasswordNeverShows() throws Exception {
        Path d = Files.createDirectories(dir.resolve("unreachable"));
        Path mesh = write(d, node("east", cluster.server(0).port()) + node("west", cluster.server(1).port())
                + node("north", UNREACHABLE_PORT));

        PgmeshProcess status = PgmeshProcess.run(d, COMMAND_TIMEOUT, ENV, "status", "-c", mesh.toString());
        assertEquals(1, status.exitCode(), "status exits 1 when a node does not answer\n" + status.tail());
        assertTrue(status.stdout().contains("node north: unreachable: "),
                "status must name the node it could not reach\n" + status.tail());
        assertTrue(status.stdout().contains("node east (server ") && status.stdout().contains("node west (server "),
                "status still reports the nodes that answer\n" + status.tail());
        assertNoPassword(status);

        try (PgmeshProcess run = PgmeshProcess.start(d, PgmeshProcess.DEFAULT_JVM_OPTIONS, ENV, "run", "-c",
                mesh.toString())) {
            run.awaitOutput("every task of north to retry", out -> out.contains("task east->north: retrying in")
                    && out.contains("task west->north: retrying in") && out.contains("task north->east: retrying in")
                    && out.contains("task north->west: retrying in"), Duration.ofSeconds(60));
            assertTrue(run.stderr().lines().anyMatch(l -> l.contains("task north->east: retrying in")
                            && l.contains("because node north: ")),
                    "the retry line must name the node that failed\n" + run.tail());
            // The healthy part of the mesh replicates meanwhile.
            run.awaitStreaming(Duration.ofSeconds(60), "east->west");
            cluster.sql(0, "INSERT INTO items VALUES (10, 'while north is unreachable')");
            Lsn mark = cluster.currentLsn(0);
            run.explainFailure(() -> cluster.awaitTask(0, 1, mark, Duration.ofSeconds(60)));
            assertEquals(1, cluster.count(1, "SELECT count(*) FROM items WHERE id = 10"),
                    "east->west replicates while north is unreachable");

            run.terminate();
            assertEquals(0, run.waitFor(Duration.ofSeconds(30)),
                    "run exits 0 on SIGTERM: retrying tasks have not failed for good\n" + run.tail());
            assertNoPassword(run);
        }
    }

    /** The task table: one line per task with its slot's state and a lag in bytes; the slots by name below. */
    private static void assertTaskTable(String out, String slotState) {
        assertTrue(out.startsWith("TASK"), "status prints a table with a header\n" + out);
        for (String[] t : List.of(new String[] {"east", "west"}, new String[] {"west", "east"})) {
            String task = t[0] + "->" + t[1];
            String line = out.lines().filter(l -> l.startsWith(task + " ")).findFirst().orElse(null);
            assertNotNull(line, "status must print a line for task " + task + "\n" + out);
            String[] cols = line.trim().split("\\s+");
            assertEquals(slotState, cols[1], "the slot of " + task + " must be " + slotState + "\n" + out);
            assertEquals(slotState.equals("active") ? "streaming" : "stopped", cols[cols.length - 1],
                    "the last column is the task's state as its run process reported it\n" + out);
            assertTrue(cols[4].matches("\\d+"), "the lag of " + task + " must be a number of bytes, got " + cols[4]
                    + "\n" + out);
            String slot = "pgmesh_" + t[0] + "_" + t[1];
            assertTrue(out.lines().anyMatch(l -> l.trim().startsWith("slot " + slot + " ") && l.contains(slotState)),
                    "status must list slot " + slot + " under node " + t[0] + " as " + slotState + "\n" + out);
        }
    }

    private static void assertJsonStatus(String json, boolean streaming) throws Exception {
        JsonNode root = new ObjectMapper().readTree(json);
        JsonNode tasks = root.get("tasks");
        assertNotNull(tasks, "status --json must have a tasks list\n" + json);
        assertEquals(2, tasks.size(), "two nodes make two tasks\n" + json);
        for (JsonNode t : tasks) {
            String name = t.get("task").asText();
            assertEquals("pgmesh_" + t.get("source").asText() + "_" + t.get("target").asText(), t.get("slot").asText(),
                    "task " + name + " names its slot\n" + json);
            assertTrue(t.get("lagBytes").isIntegralNumber() && t.get("lagBytes").asLong() >= 0,
                    "task " + name + " reports its lag as a number of bytes\n" + json);
            assertEquals(streaming, t.get("slotActive").asBoolean(), "slot of " + name + " active while run streams\n"
                    + json);
            assertTrue(t.get("error").isNull(), "task " + name + " has no error\n" + json);
            assertFalse(t.get("originProgress").isNull(), "task " + name + " has applied something\n" + json);
        }
        for (JsonNode n : root.get("nodes")) {
            assertTrue(n.get("reachable").asBoolean(), "node " + n.get("node") + " is reachable\n" + json);
        }
    }

    private static void assertNoPassword(PgmeshProcess p) {
        assertFalse(p.output().contains(PASSWORD), "the password from ${" + PASSWORD_VARIABLE + "} must never be"
                + " printed, but " + p + " did");
    }

    private static String node(String name, int port) {
        return "  - name: " + name + "\n"
                + "    host: 127.0.0.1\n"
                + "    port: " + port + "\n"
                + "    database: " + PgCluster.DB + "\n"
                + "    user: postgres\n"
                + "    password: ${" + PASSWORD_VARIABLE + "}\n"
                + "    sslmode: disable\n";
    }

    private static Path write(Path d, String nodes) throws Exception {
        Path file = d.resolve("mesh.yaml");
        Files.writeString(file, "nodes:\n" + nodes + "tables:\n  include: [\"public.*\"]\n");
        return file;
    }
}
