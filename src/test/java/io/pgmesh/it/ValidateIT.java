package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.cli.Main;
import io.pgmesh.validate.KeyDifference;
import io.pgmesh.validate.TableReport;
import io.pgmesh.validate.ValidateOptions;
import io.pgmesh.validate.ValidationException;
import io.pgmesh.validate.ValidationReport;
import io.pgmesh.validate.Validator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgmesh validate} on a running two-node mesh: identical tables are called identical with
 * their counts, rows changed behind pgmesh's back are found and their keys named, and changes in
 * flight under steady load in both directions are never reported as differences.
 *
 * <p>A change "behind pgmesh's back" is made in a session under a replication origin whose name
 * pgmesh treats as its own, so capture drops it as loopback and it stays on the one node.
 */
@Timeout(300)
class ValidateIT {
    private static final String BEHIND_ITS_BACK = "pgmesh_validate_test";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Rows each load transaction inserts and updates: enough that some are always on their way. */
    private static final int ROWS_PER_TXN = 5;

    @AutoClose
    static PgCluster cluster;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2), opened timestamptz)");
        // Columns in other orders, a dropped column, a generated column in another place, and an
        // extra nullable column on west that only gets a note.
        cluster.sql(0, "CREATE TABLE reordered (id int PRIMARY KEY, junk int, item text, qty int,"
                + " shout text GENERATED ALWAYS AS (upper(item)) STORED)");
        cluster.sql(0, "ALTER TABLE reordered DROP COLUMN junk");
        cluster.sql(1, "CREATE TABLE reordered (shout text GENERATED ALWAYS AS (upper(item)) STORED, qty int,"
                + " remark text, item text, id int PRIMARY KEY)");
        cluster.sqlAll("CREATE TABLE drifted (id int PRIMARY KEY, v text)");
        cluster.sqlAll("CREATE TABLE bag (s text, n int)");
        cluster.sqlAll("ALTER TABLE bag REPLICA IDENTITY FULL");
        cluster.sqlAll("CREATE TABLE busy (id bigint PRIMARY KEY, n int NOT NULL, note text)");
        cluster.sqlAll("SELECT pg_replication_origin_create('" + BEHIND_ITS_BACK + "')");
        cluster.startMesh();

        cluster.sql(0, "INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.25, '2024-01-01'::timestamptz + g * interval '1 hour'"
                + " FROM generate_series(1, 5000) g");
        cluster.sql(0, "INSERT INTO reordered (id, item, qty) SELECT g, 'item ' || g, g FROM generate_series(1, 300) g");
        cluster.sql(1, "INSERT INTO drifted SELECT g, 'v' || g FROM generate_series(1, 100) g");
        cluster.sql(1, "INSERT INTO bag VALUES ('a', 1), ('a', 1), ('b', 2)");
        cluster.sql(0, "INSERT INTO busy SELECT g, 0, 'seed' FROM generate_series(1, 20000) g");
        cluster.awaitSettled(TIMEOUT);
    }

    @Test
    void identicalTablesAreReportedIdenticalWithTheirCounts() throws Exception {
        ValidationReport r = validate();
        assertTrue(r.identical(), "nothing differs yet: " + r);
        assertTrue(r.caughtUp(), "the mesh runs, so validate waited for it: " + r.catchUpProblem());
        assertEquals(List.of("public.accounts", "public.bag", "public.busy", "public.drifted", "public.reordered"),
                r.tables().stream().map(TableReport::table).toList(), "every published table, in name order");
        TableReport accounts = table(r, "public.accounts");
        assertEquals(TableReport.Verdict.IDENTICAL, accounts.verdict());
        assertEquals(Map.of("east", 5000L, "west", 5000L), accounts.rows(), "rows counted on each node");
        assertEquals(Map.of("east", 3L, "west", 3L), table(r, "public.bag").rows(), "duplicates count in a multiset");
    }

    @Test
    void columnsInAnotherOrderAreIdenticalAndAnExtraColumnIsOnlyANote() throws Exception {
        TableReport t = table(validate(), "public.reordered");
        assertEquals(TableReport.Verdict.IDENTICAL, t.verdict(), "columns are compared by name: " + t);
        assertEquals(List.of("column \"remark\" only on west, not compared"), t.notes(),
                "the generated column is left out silently; west's extra column is named");
    }

    @Test
    void rowsChangedDeletedAndAddedBehindItsBackAreFoundByKey() throws Exception {
        behindItsBack(1, "UPDATE drifted SET v = 'changed on west' WHERE id = 7");
        behindItsBack(1, "DELETE FROM drifted WHERE id = 13");
        behindItsBack(1, "INSERT INTO drifted VALUES (1000, 'only on west')");
        behindItsBack(1, "INSERT INTO bag VALUES ('a', 1)");
        // Made on east alone (schema changes of the test's sessions are not replicated); the DDL
        // capture adopts it into east's publication as it is created.
        cluster.sql(0, "CREATE TABLE only_east (id int PRIMARY KEY)");
        assertEquals(1, cluster.count(0, "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'only_east'"));
        try {
            ValidationReport r = validate();
            assertTrue(!r.identical(), "drifted rows make the mesh different");
            TableReport drifted = table(r, "public.drifted");
            assertEquals(TableReport.Verdict.DIFFERENT, drifted.verdict(), drifted.toString());
            assertEquals(3, drifted.differingKeys(), "one changed, one deleted, one added row: " + drifted);
            assertEquals(Map.of("east", 100L, "west", 100L), drifted.rows());
            assertEquals(List.of(new KeyDifference("(id)=(1000)", "missing on east"),
                            new KeyDifference("(id)=(13)", "missing on west"),
                            new KeyDifference("(id)=(7)", "rows differ: east | west")),
                    drifted.differences().stream().sorted(java.util.Comparator.comparing(KeyDifference::key)).toList());
            TableReport bag = table(r, "public.bag");
            assertEquals(TableReport.Verdict.DIFFERENT, bag.verdict(), bag.toString());
            assertEquals(List.of(new KeyDifference("row (1,a)", "2 on east, 3 on west")), bag.differences(),
                    "a multiset row is shown with its count on each node");
            TableReport onlyEast = table(r, "public.only_east");
            assertEquals(List.of(new KeyDifference("table", "missing on west")), onlyEast.differences());
            assertEquals(TableReport.Verdict.IDENTICAL, table(r, "public.accounts").verdict(), "other tables stay identical");
        } finally {
            cluster.sql(0, "DROP TABLE only_east");
            repairDrift();
        }
        assertTrue(validate().identical(), "after the repair the nodes are identical again");
    }

    @Test
    void changesInFlightUnderLoadInBothDirectionsAreNoDifference() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong written = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            writers.add(writer(node, stop, written, failure));
        }
        writers.forEach(Thread::start);
        List<ValidationReport> reports = new ArrayList<>();
        long before;
        long after;
        try {
            PgCluster.await(TIMEOUT, "writers to get going", () -> written.get() > 100);
            before = written.get();
            // Until some comparison met changes in flight (each run usually does): otherwise this test
            // would prove nothing about them.
            for (int run = 0; run < 10 && (run < 3 || settled(reports) == 0); run++) {
                reports.add(validate());
            }
            after = written.get();
        } finally {
            stop.set(true);
            for (Thread t : writers) {
                t.join();
            }
        }
        assertEquals(null, failure.get(), "a writer failed");
        assertTrue(after - before > 100, "the load must go on while validate runs, or this proves nothing: "
                + (after - before) + " transactions");
        assertTrue(settled(reports) > 0, "some scan must have met changes in flight (keys or row counts that"
                + " differed, then settled), or the load put nothing in flight: " + reports);
        for (ValidationReport r : reports) {
            TableReport busy = table(r, "public.busy");
            assertTrue(r.caughtUp(), "replication keeps up with this load, so validate must reach a common point: "
                    + r.catchUpProblem());
            assertEquals(0, busy.differingKeys(), "changes in flight are not differences: " + busy);
            assertEquals(0, r.count(TableReport.Verdict.DIFFERENT), "no table differs under load: " + r);
        }
        cluster.awaitSettled(TIMEOUT);
        assertEquals(cluster.dump(0, "busy", "id"), cluster.dump(1, "busy", "id"), "the nodes converged after the load");
    }

    @Test
    void theCliExits0WhenIdenticalAnd1NamingTheKeyWhenNot() throws Exception {
        Path mesh = cluster.writeMeshFile(Files.createDirectories(dir.resolve("cli")));
        Cli same = Cli.run("validate", "-c", mesh.toString());
        assertEquals(0, same.code(), "identical nodes exit 0\n" + same);
        assertTrue(same.out().contains("public.accounts") && same.out().contains("5000 rows  identical on east, west"),
                "one line per table with its count\n" + same);
        assertTrue(same.out().strip().endsWith("5 tables on east, west: 5 identical"), "a summary line\n" + same);

        behindItsBack(1, "UPDATE drifted SET v = 'changed on west' WHERE id = 7");
        try {
            Cli differ = Cli.run("validate", "-c", mesh.toString());
            assertEquals(1, differ.code(), "a difference exits 1\n" + differ);
            assertTrue(differ.out().contains("public.drifted") && differ.out().contains("DIFFERENT: 1 key"), differ.toString());
            assertTrue(differ.out().contains("    (id)=(7)  rows differ: east | west"), "the key is named\n" + differ);
            Cli json = Cli.run("validate", "--json", "-c", mesh.toString());
            assertEquals(1, json.code(), "--json exits like text\n" + json);
            var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
            assertEquals(false, root.get("identical").asBoolean(), json.out());
            assertNotNull(root.get("tables"), json.out());
        } finally {
            behindItsBack(1, "UPDATE drifted SET v = 'v7' WHERE id = 7");
        }

        Path broken = Files.createDirectories(dir.resolve("unreachable")).resolve("mesh.yaml");
        Files.writeString(broken, Files.readString(mesh).replace("tables:", """
                  - name: north
                    host: 127.0.0.1
                    port: 1
                    database: app
                    user: postgres
                    sslmode: disable
                tables:"""));
        Cli down = Cli.run("validate", "-c", broken.toString());
        assertEquals(1, down.code(), "an unreachable node exits 1\n" + down);
        assertTrue(down.err().startsWith("node north (127.0.0.1:1/app): unreachable: "), "one line naming the node\n" + down);
        assertEquals(2, Cli.run("validate", "-c", dir.resolve("no-such-file.yaml").toString()).code(), "a config error exits 2");
    }

    @Test
    void anUnreachableNodeFailsTheApiCallNamingIt() {
        var config = cluster.config();
        var nodes = new ArrayList<>(config.nodes());
        var west = nodes.get(1);
        nodes.set(1, new io.pgmesh.config.NodeConfig(west.name(), west.host(), 1, west.database(), west.user(),
                west.password(), west.sslmode()));
        ValidationException e = org.junit.jupiter.api.Assertions.assertThrows(ValidationException.class,
                () -> Validator.run(new io.pgmesh.config.MeshConfig(nodes, config.tables()), ValidateOptions.defaults()));
        assertTrue(e.getMessage().startsWith("node west (127.0.0.1:1/app): unreachable: "), e.getMessage());
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * How often validate met changes in flight and did not report them: keys that differed in a
     * scan and settled on re-check, or a scan whose row counts differed between the nodes (so its
     * buckets differed) while the rows read right after had caught up.
     */
    private static long settled(List<ValidationReport> reports) {
        return reports.stream().mapToLong(r -> {
            TableReport busy = table(r, "public.busy");
            boolean countsDiffered = busy.rows().values().stream().distinct().count() > 1;
            return busy.settledKeys() + (countsDiffered && busy.verdict() == TableReport.Verdict.IDENTICAL ? 1 : 0);
        }).sum();
    }

    private static ValidationReport validate() throws Exception {
        return Validator.run(cluster.config(), ValidateOptions.defaults());
    }

    private static TableReport table(ValidationReport r, String name) {
        return r.tables().stream().filter(t -> t.table().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no report for " + name + ": " + r));
    }

    /** Changes one node without the change replicating: the session's origin makes it look like loopback. */
    private static void behindItsBack(int node, String sql) throws SQLException {
        try (Connection c = cluster.connect(node); Statement st = c.createStatement()) {
            st.execute("SELECT pg_replication_origin_session_setup('" + BEHIND_ITS_BACK + "')");
            st.execute(sql);
        }
    }

    private static void repairDrift() throws SQLException {
        behindItsBack(1, "UPDATE drifted SET v = 'v7' WHERE id = 7");
        behindItsBack(1, "INSERT INTO drifted VALUES (13, 'v13')");
        behindItsBack(1, "DELETE FROM drifted WHERE id = 1000");
        behindItsBack(1, "DELETE FROM bag WHERE ctid = (SELECT min(ctid) FROM bag WHERE s = 'a')");
    }

    /**
     * Inserts new rows (ids of its own: east odd, west even, above the seed) and updates seed rows
     * that the other node updates too; a few milliseconds apart, a load replication keeps up with.
     */
    private static Thread writer(int node, AtomicBoolean stop, AtomicLong written, AtomicReference<Throwable> failure) {
        return new Thread(() -> {
            try (Connection c = cluster.connect(node); Statement st = c.createStatement()) {
                long id = 1_000_000 + node;
                while (!stop.get()) {
                    int seed = ThreadLocalRandom.current().nextInt(1, 20_001 - ROWS_PER_TXN);
                    st.execute("BEGIN");
                    st.execute("INSERT INTO busy SELECT " + id + " + 2 * g, 0, 'node " + node + "'"
                            + " FROM generate_series(0, " + (ROWS_PER_TXN - 1) + ") g");
                    st.execute("UPDATE busy SET n = n + 1, note = 'node " + node + "' WHERE id BETWEEN " + seed
                            + " AND " + (seed + ROWS_PER_TXN - 1));
                    st.execute("COMMIT");
                    id += 2 * ROWS_PER_TXN;
                    written.incrementAndGet();
                    Thread.sleep(5);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }, "writer-" + cluster.name(node));
    }
}
