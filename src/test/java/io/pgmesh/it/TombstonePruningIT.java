package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tombstones go once no change can need them, and not before: while a node that made a change
 * concurrent with a delete is away, every node keeps the delete's tombstone (and says who holds
 * it), so the late change meets it and loses to the later delete everywhere; once that node is
 * back and has seen the delete, the tombstones go.
 */
@Timeout(300)
class TombstonePruningIT {

    @Test
    void aTombstoneStaysWhileANodeThatMayStillSendAConcurrentChangeIsAway(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sqlAll("CREATE TABLE items (id int PRIMARY KEY, v text)");
            Path mesh = c.writeMeshFile(dir);
            int port = MonitoringIT.freePort();
            List<String> jvm = List.of("-Xmx256m", "-Dpgmesh.retention.interval=2");
            PgmeshProcess first = PgmeshProcess.start(dir, jvm, Map.of(), "run", "-c", mesh.toString());
            try {
                first.awaitStreaming(Duration.ofSeconds(60), "east->west", "east->north");
                c.sql(0, "INSERT INTO items SELECT g, 'east' FROM generate_series(1, 10) g");
                c.awaitSettled(Duration.ofSeconds(30));
                c.sql(0, "DELETE FROM items WHERE id = 10");
                c.awaitSettled(Duration.ofSeconds(30));
                PgCluster.await(Duration.ofSeconds(30), "a delete every node has seen to leave no tombstone", () ->
                        tombstones(c, 0) == 0 && tombstones(c, 1) == 0 && tombstones(c, 2) == 0);
            } finally {
                first.close();
            }

            // north changes key 1 while cut off, then freezes before it could send or see anything.
            c.sql(2, "UPDATE items SET v = 'north, before the delete' WHERE id = 1");
            c.freeze(2);
            PgmeshProcess run = PgmeshProcess.start(dir, jvm, Map.of(), "run", "-c", mesh.toString(), "--http",
                    "127.0.0.1:" + port);
            try {
                run.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
                c.sql(0, "DELETE FROM items WHERE id = 1");
                c.awaitTask(0, 1, c.currentLsn(0), Duration.ofSeconds(30));
                // Rounds go by (every 2 s, and 5 s more on the frozen node), and held back is said after 10 s.
                run.awaitOutput("the hold to be named", out -> out.contains("tombstone(s) older than 10s are kept"
                        + " because north has not confirmed it saw their deletes"), Duration.ofSeconds(60));
                assertEquals(1, tombstones(c, 0), "east keeps its delete's tombstone while north is away");
                assertEquals(1, tombstones(c, 1), "west too");
                String metrics = MonitoringIT.get(port, "/metrics").body();
                assertEquals(1.0, MonitoringIT.sample(metrics, "pgmesh_tombstones_held", "by=\"north\",node=\"west\""),
                        metrics.lines().filter(l -> l.contains("tombstones")).toList().toString());

                PgmeshProcess status = PgmeshProcess.run(dir, Duration.ofSeconds(90), Map.of(), "status", "-c",
                        mesh.toString());
                assertTrue(status.stdout().matches("(?s).*node west .*\n  kept conflicts [0-9,]+ rows \\([^)]+\\),"
                        + " apply errors 0 rows \\([^)]+\\), tombstones 1 rows \\([^)]+\\); tombstone pruning waits for"
                        + " north \\(unreachable\\).*"), status.stdout());

                c.thaw(2);
                run.awaitStreaming(Duration.ofSeconds(60), "north->east", "north->west", "east->north");
                c.awaitSettled(Duration.ofSeconds(60));
                for (int n = 0; n < 3; n++) {
                    assertEquals(0, c.count(n, "SELECT count(*) FROM items WHERE id = 1"),
                            c.name(n) + ": north's older change met the tombstone and lost to the later delete");
                }
                assertEquals(c.dump(0, "items", "id"), c.dump(1, "items", "id"));
                assertEquals(c.dump(0, "items", "id"), c.dump(2, "items", "id"));
                PgCluster.await(Duration.ofSeconds(60), "the tombstones to go once north has seen the delete", () ->
                        tombstones(c, 0) == 0 && tombstones(c, 1) == 0 && tombstones(c, 2) == 0);
                run.awaitOutput("the hold to be lifted", out -> out.contains("north no longer holds tombstone pruning"
                        + " back"), Duration.ofSeconds(30));
                String after = MonitoringIT.get(port, "/metrics").body();
                assertTrue(MonitoringIT.sample(after, "pgmesh_tombstones_removed_total", "node=\"west\"") >= 1, after);
            } finally {
                run.close();
                c.thaw(2);
            }
        }
    }

    private static long tombstones(PgCluster c, int node) {
        return c.countOrMinusOne(node, "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format("
                + "'SELECT count(*) AS c FROM pgmesh.%I', relname), false, true, '')))[1]::text::bigint), 0)"
                + " FROM pg_class WHERE relnamespace = 'pgmesh'::regnamespace AND relname LIKE 'deleted\\_%'"
                + " AND relkind = 'r'");
    }
}
