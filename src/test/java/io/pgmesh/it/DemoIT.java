package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's first command runs to its end and finds the nodes identical. */
@Timeout(180)
class DemoIT {

    @Test
    void demoReplicatesBothWaysAndEndsWithIdenticalNodes() {
        Cli run = Cli.run("demo", "--seconds", "3");
        int code = run.code();
        String out = run.out();
        System.out.println(run);
        assertEquals(0, code, "demo must exit 0 when the nodes end identical; output:\n" + out);
        assertTrue(out.contains("initial load east -> west done: 2 table(s), 80,000 rows"),
                "demo must show the initial load; output:\n" + out);
        assertTrue(out.contains("All nodes hold the same rows."), "demo must say the nodes match; output:\n" + out);
        assertTrue(out.contains("east->west") && out.contains("west->east"), "demo must show both directions; output:\n" + out);
    }

    /** --keep: the nodes want the generated password, and Ctrl-C stops them and removes every file. */
    @Test
    void keptNodesNeedThePasswordAndCtrlCRemovesThem(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (PgmeshProcess demo = PgmeshProcess.start(dir, "demo", "--seconds", "1", "--keep")) {
            PgCluster.await(java.time.Duration.ofSeconds(150), "the demo to keep its nodes running",
                    () -> demo.output().contains("Press Ctrl-C") || !demo.isAlive());
            String out = demo.output();
            assertTrue(demo.isAlive(), demo.tail());
            var started = java.util.regex.Pattern.compile("nodes in (\\S+)").matcher(out);
            assertTrue(started.find(), out);
            java.nio.file.Path work = java.nio.file.Path.of(started.group(1));
            var port = java.util.regex.Pattern.compile("-p (\\d+) -U postgres app").matcher(out);
            assertTrue(port.find(), out);
            String url = "jdbc:postgresql://127.0.0.1:" + port.group(1) + "/app";
            java.sql.SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                    () -> java.sql.DriverManager.getConnection(url, "postgres", "").close());
            assertTrue(refused.getMessage().contains("password"), refused.getMessage());
            String line = java.nio.file.Files.readAllLines(work.resolve("pgpass")).get(0);
            try (var conn = java.sql.DriverManager.getConnection(url, "postgres", line.substring(line.lastIndexOf(':') + 1))) {
                assertTrue(conn.isValid(5), "the password in the pgpass file opens the node");
            }
            assertTrue(!out.contains(line.substring(line.lastIndexOf(':') + 1)), "the password is never printed");

            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(demo.pid())).start();
            assertEquals(0, kill.waitFor());
            assertEquals(0, demo.waitFor(java.time.Duration.ofSeconds(60)), demo.tail());
            assertTrue(!java.nio.file.Files.exists(work), "Ctrl-C removed " + work + ": " + demo.tail());
            org.junit.jupiter.api.Assertions.assertThrows(java.sql.SQLException.class,
                    () -> java.sql.DriverManager.getConnection(url, "postgres", "x").close(), "the node stopped");
        }
    }
}
