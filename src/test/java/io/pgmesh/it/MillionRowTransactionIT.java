package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bounded memory (docs/ARCHITECTURE.md): one source transaction of a million rows replicates through a
 * pgmesh process with a 256 MB heap, as one target transaction, and the process lives on.
 */
@Timeout(300)
class MillionRowTransactionIT {
    private static final int ROWS = 1_000_000;
    private static final String HEAP = "-Xmx256m";
    /** Row count, key sum and a digest of every row in key order: equal on both nodes means equal rows. */
    private static final String FINGERPRINT = "SELECT count(*) || ' rows, id sum ' || sum(id) || ', md5 '"
            + " || md5(string_agg(id || ':' || payload, ',' ORDER BY id)) FROM big";

    @AutoClose
    static PgCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL)");
    }

    @Test
    void aMillionRowTransactionReplicatesWithA256MbHeap() throws Exception {
        Path mesh = cluster.writeMeshFile(dir);
        try (PgmeshProcess pgmesh = PgmeshProcess.start(dir, List.of(HEAP), Map.of(), "run", "-c", mesh.toString())) {
            pgmesh.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");

            long t0 = System.nanoTime();
            // ~50 bytes of text per row: 18 letters and an md5.
            cluster.sql(0, "INSERT INTO big SELECT g, 'payload-of-row-xx-' || md5(g::text) FROM generate_series(1, "
                    + ROWS + ") g");
            long written = System.nanoTime();
            pgmesh.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(240)));
            long arrived = System.nanoTime();
            System.out.printf("MillionRowTransactionIT: %,d rows written on east in %.1f s, replicated to west"
                            + " %.1f s after the commit (pgmesh %s)%n", ROWS, (written - t0) / 1e9,
                    (arrived - written) / 1e9, HEAP);

            assertTrue(pgmesh.isAlive(), "pgmesh must survive a large transaction with " + HEAP + "\n" + pgmesh.tail());
            String output = pgmesh.output();
            assertFalse(output.contains("OutOfMemoryError") || output.contains("Java heap space")
                            || output.contains("GC overhead limit"),
                    "pgmesh ran out of memory: a transaction must stream through, not be held whole\n" + pgmesh.tail());
            assertFalse(output.contains("retrying in"),
                    "no task may have failed and retried while applying the transaction\n" + pgmesh.tail());

            assertEquals(ROWS, cluster.count(1, "SELECT count(*) FROM big"), "every row must arrive on west");
            assertEquals(text(0, FINGERPRINT), text(1, FINGERPRINT), "west must hold exactly east's rows");
            assertEquals(1, cluster.count(1, "SELECT count(DISTINCT xmin::text) FROM big"),
                    "one source transaction must be applied as one target transaction");

            pgmesh.terminate();
            assertEquals(0, pgmesh.waitFor(Duration.ofSeconds(30)), "pgmesh run must exit 0 on SIGTERM\n" + pgmesh.tail());
        }
    }

    private static String text(int node, String sql) throws Exception {
        try (Connection c = cluster.connect(node); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
