package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgmesh ids partition} as a user runs it, on two real servers whose tables already hold the
 * same rows and whose sequences stand wherever the application left them. Each test works in a
 * schema of its own, with a mesh file that replicates only that schema.
 */
@Timeout(300)
class IdsPartitionIT {
    private static final int ROWS_PER_NODE = 100_000;
    private static final int BATCH = 1_000;
    @AutoClose
    static PgCluster cluster;

    @TempDir
    static Path dir;

    record Run(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
    }

    /** Runs pgmesh in this JVM, as the user would run it, and keeps what it printed. */
    private static Run pgmesh(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A mesh file of the cluster that replicates the tables of one schema. */
    private static String meshFor(String schema) throws Exception {
        Path d = Files.createDirectories(dir.resolve(schema));
        Path file = cluster.writeMeshFile(d);
        Files.writeString(file, Files.readString(file).replace("\"public.*\"", "\"" + schema + ".*\""));
        return file.toString();
    }

    /** The key columns that check's sequence_overlap findings name, in table order. */
    private static List<String> overlapWarnings(String mesh) throws Exception {
        List<String> columns = new ArrayList<>();
        for (var f : io.pgmesh.check.Preflight.run(io.pgmesh.config.MeshConfigLoader.load(Path.of(mesh)))) {
            if (f.code().equals("sequence_overlap")) {
                columns.add(f.what().split(" ")[2]);
            }
        }
        return columns;
    }

    /** Every sequence of both nodes with its increment and position: what "changes nothing" compares. */
    private static List<String> sequences() throws Exception {
        List<String> all = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            for (String seq : cluster.queryColumn(node, "SELECT format('%I.%I', schemaname, sequencename)"
                    + " FROM pg_sequences ORDER BY 1")) {
                all.add(cluster.name(node) + " " + seq + ": " + cluster.queryString(node, "SELECT format("
                        + "'increment %s last_value %s is_called %s', (SELECT seqincrement FROM pg_sequence"
                        + " WHERE seqrelid = '" + seq + "'::regclass), last_value, is_called) FROM " + seq));
            }
        }
        return all;
    }

    @Test
    void afterPartitionTwoNodesInsertingAtOnceNeverMakeTheSameKeyAndPartitionAgainChangesNothing() throws Exception {
        cluster.sqlAll("""
                CREATE TABLE orders (id serial PRIMARY KEY, origin text NOT NULL);
                CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, origin text NOT NULL);
                CREATE SEQUENCE invoice_no;
                CREATE TABLE invoices (no bigint PRIMARY KEY DEFAULT nextval('invoice_no'), origin text NOT NULL);
                """);
        // The same rows on both nodes, as replication leaves them: each row was made by one node's
        // sequence and copied to the other, whose sequence never moved. That other node would hand
        // out the same keys again.
        cluster.sql(0, "INSERT INTO orders (origin) SELECT 'before' FROM generate_series(1, 500)");
        cluster.sql(1, "INSERT INTO orders (id, origin) SELECT g, 'before' FROM generate_series(1, 500) g");
        cluster.sql(1, "INSERT INTO tickets (origin) SELECT 'before' FROM generate_series(1, 300)");
        cluster.sql(0, "INSERT INTO tickets OVERRIDING SYSTEM VALUE SELECT g, 'before' FROM generate_series(1, 300) g");
        cluster.sql(0, "INSERT INTO invoices (origin) SELECT 'before' FROM generate_series(1, 10)");
        cluster.sql(1, "INSERT INTO invoices SELECT g, 'before' FROM generate_series(1, 10) g");
        String mesh = meshFor("public");

        assertEquals(List.of("public.invoices.no", "public.orders.id", "public.tickets.id"), overlapWarnings(mesh),
                "before partitioning, check warns about every key whose sequences overlap");
        List<String> before = sequences();
        Run dry = pgmesh("ids", "partition", "-c", mesh, "--dry-run");
        assertEquals(0, dry.exitCode(), dry.toString());
        assertEquals(before, sequences(), "--dry-run must change no sequence\n" + dry);
        // 8 slots by default; east is slot 1, west slot 2; each starts above the greatest key on either node.
        for (String expected : List.of(
                "public.orders_id_seq (public.orders.id): INCREMENT 1, next 501, would run: ALTER SEQUENCE"
                        + " \"public\".\"orders_id_seq\" INCREMENT BY 8 RESTART WITH 505;",
                "public.orders_id_seq (public.orders.id): INCREMENT 1, next 1, would run: ALTER SEQUENCE"
                        + " \"public\".\"orders_id_seq\" INCREMENT BY 8 RESTART WITH 506;",
                "public.tickets_id_seq (public.tickets.id): INCREMENT 1, next 1, would run: ALTER SEQUENCE"
                        + " \"public\".\"tickets_id_seq\" INCREMENT BY 8 RESTART WITH 305;",
                "public.tickets_id_seq (public.tickets.id): INCREMENT 1, next 301, would run: ALTER SEQUENCE"
                        + " \"public\".\"tickets_id_seq\" INCREMENT BY 8 RESTART WITH 306;",
                "public.invoice_no (public.invoices.no): INCREMENT 1, next 11, would run: ALTER SEQUENCE"
                        + " \"public\".\"invoice_no\" INCREMENT BY 8 RESTART WITH 17;",
                "public.invoice_no (public.invoices.no): INCREMENT 1, next 1, would run: ALTER SEQUENCE"
                        + " \"public\".\"invoice_no\" INCREMENT BY 8 RESTART WITH 18;",
                "dry run: 6 sequence(s) to change; nothing was changed")) {
            assertTrue(dry.out().contains(expected), "dry run must print: " + expected + "\n" + dry);
        }

        Run first = pgmesh("ids", "partition", "-c", mesh);
        assertEquals(0, first.exitCode(), first.toString());
        assertTrue(first.out().contains("changed 6 sequence(s)"), first.toString());
        List<String> partitioned = sequences();
        assertNotEquals(before, partitioned, "partition must have altered the sequences");

        assertEquals(List.of(), overlapWarnings(mesh), "after partitioning, check has no sequence warning");
        Run again = pgmesh("ids", "partition", "-c", mesh);
        assertEquals(0, again.exitCode(), again.toString());
        assertTrue(again.out().contains("nothing to change: every sequence is already partitioned"), again.toString());
        assertEquals(partitioned, sequences(), "a second partition must change nothing");

        insertAtOnce(List.of("orders", "tickets", "invoices"));
        for (String key : List.of("orders.id", "tickets.id", "invoices.no")) {
            assertDisjointNewKeys(key);
        }

        // Both nodes have now used their slices, west's keys lie above east's next values: still nothing to do.
        List<String> used = sequences();
        Run afterUse = pgmesh("ids", "partition", "-c", mesh);
        assertTrue(afterUse.out().contains("nothing to change"), "values of other slices above a node's next value"
                + " do not collide with it\n" + afterUse);
        assertEquals(used, sequences(), "partition after use must change nothing");

        // A key of east's slice that arrived at west ahead of east's sequence: only east's sequence moves past it.
        long stray = Long.parseLong(cluster.queryString(0, "SELECT max(id) FROM orders")) + 8 * 10;
        cluster.sql(1, "INSERT INTO orders (id, origin) VALUES (" + stray + ", 'stray')");
        Run repair = pgmesh("ids", "partition", "-c", mesh);
        assertEquals(0, repair.exitCode(), repair.toString());
        assertTrue(repair.out().contains("changed 1 sequence(s)"), repair.toString());
        cluster.sql(0, "INSERT INTO orders (origin) VALUES ('after stray')");
        long next = Long.parseLong(cluster.queryString(0, "SELECT id FROM orders WHERE origin = 'after stray'"));
        assertTrue(next > stray && next % 8 == 1, "east's next key " + next + " must be in its slice above " + stray);
    }

    /** Each node inserts ROWS_PER_NODE rows into each table through the column defaults, both nodes at once. */
    private static void insertAtOnce(List<String> tables) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Callable<Void>> writers = new ArrayList<>();
            for (int node = 0; node < 2; node++) {
                int n = node;
                writers.add(() -> {
                    try (Connection c = cluster.connect(n); Statement st = c.createStatement()) {
                        for (int done = 0; done < ROWS_PER_NODE; done += BATCH) {
                            for (String table : tables) {
                                st.execute("INSERT INTO " + table + " (origin) SELECT '" + cluster.name(n)
                                        + "' FROM generate_series(1, " + BATCH + ")");
                            }
                        }
                    }
                    return null;
                });
            }
            for (Future<Void> f : pool.invokeAll(writers)) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertDisjointNewKeys(String tableDotKey) throws Exception {
        String table = tableDotKey.substring(0, tableDotKey.indexOf('.'));
        String key = tableDotKey.substring(tableDotKey.indexOf('.') + 1);
        long before = Long.parseLong(cluster.queryString(0,
                "SELECT max(" + key + ") FROM " + table + " WHERE origin = 'before'"));
        List<Set<Long>> keys = new ArrayList<>();
        for (int node = 0; node < 2; node++) {
            Set<Long> mine = new HashSet<>();
            for (String v : cluster.queryColumn(node, "SELECT " + key + " FROM " + table + " WHERE origin = '"
                    + cluster.name(node) + "'")) {
                long k = Long.parseLong(v);
                assertTrue(k > before, table + ": " + cluster.name(node) + " handed out " + k
                        + ", not above the keys that existed before (max " + before + ")");
                assertEquals(node + 1, k % 8, table + ": " + cluster.name(node) + "'s key " + k + " is not in its slice");
                mine.add(k);
            }
            assertEquals(ROWS_PER_NODE, mine.size(), table + ": rows inserted on " + cluster.name(node));
            keys.add(mine);
        }
        Set<Long> both = new HashSet<>(keys.get(0));
        both.retainAll(keys.get(1));
        assertEquals(Set.of(), both, table + ": keys handed out by both nodes would collide when replicated");
    }

    @Test
    void aSequenceWithoutRoomFailsNamingNodeAndSequenceAndNothingIsChanged() throws Exception {
        cluster.sqlAll("""
                CREATE SCHEMA tight;
                CREATE TABLE tight.aaa (id serial PRIMARY KEY);
                CREATE TABLE tight.zzz (id smallserial PRIMARY KEY);
                """);
        cluster.sql(0, "SELECT setval('tight.zzz_id_seq', 32761)");
        String mesh = meshFor("tight");
        List<String> before = sequences();
        Run run = pgmesh("ids", "partition", "-c", mesh);
        assertEquals(1, run.exitCode(), run.toString());
        assertEquals("ids partition: east: sequence tight.zzz_id_seq (smallint, MAXVALUE 32767) has no room: no value"
                + " above 32761 that is 1 mod 8 fits; change it to bigint first (ALTER SEQUENCE ... AS bigint, and the"
                + " column too)", run.err().strip(), "one line naming node and sequence");
        assertEquals(before, sequences(), "tight.aaa had room, but nothing may change when one sequence fails");
    }

    @Test
    void slotsFewerThanNodesIsAUsageError() throws Exception {
        Run run = pgmesh("ids", "partition", "-c", meshFor("none"), "--slots", "1");
        assertEquals(2, run.exitCode(), run.toString());
        assertEquals("ids partition: --slots: expected 2..1000000 (at least one slot per node), got 1", run.err().strip());
    }

    @Test
    void aSequenceHeldByAnOpenTransactionIsWaitedForThenLeftAloneWithAClearMessage() throws Exception {
        cluster.sqlAll("CREATE SCHEMA busy; CREATE TABLE busy.jobs (id serial PRIMARY KEY)");
        String mesh = meshFor("busy");
        List<String> before;
        try (Connection app = cluster.connect(0); Statement st = app.createStatement()) {
            app.setAutoCommit(false);
            st.execute("INSERT INTO busy.jobs DEFAULT VALUES"); // nextval holds the sequence until commit
            before = sequences();
            Run run = pgmesh("ids", "partition", "-c", mesh);
            assertEquals(1, run.exitCode(), run.toString());
            assertEquals("ids partition: east: sequence busy.jobs_id_seq stayed in use by an open transaction for 10s;"
                    + " nothing was changed, run ids partition again", run.err().strip());
            assertEquals(before, sequences(), "a failed lock must leave every node as it was");
            app.commit();
        }
        Run retry = pgmesh("ids", "partition", "-c", mesh);
        assertEquals(0, retry.exitCode(), retry.toString());
        assertTrue(retry.out().contains("RESTART WITH 9;") && retry.out().contains("RESTART WITH 2;"),
                "above the committed key 1: east (1 mod 8) at 9, west (2 mod 8) at 2\n" + retry);
    }
}
