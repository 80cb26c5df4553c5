package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.setup.Initializer;
import io.pgmesh.setup.Teardown;
import io.pgmesh.task.MeshRunner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** init's initial load, its refusals and its idempotence, then teardown; on real servers. */
@Timeout(300)
class InitIT {
    private static final String SCHEMA = """
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
            CREATE TYPE address AS (street text COLLATE "C", zip positive, mood mood);
            CREATE TABLE customers (
                id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, mood mood NOT NULL DEFAULT 'ok',
                visits positive, note text COLLATE "C", balance numeric(12,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
                tags text[], span int4range, home address, created timestamptz NOT NULL DEFAULT now());
            CREATE INDEX customers_mood ON customers (mood, created);
            CREATE TABLE orders (
                id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id),
                amount numeric NOT NULL, doubled numeric GENERATED ALWAYS AS (amount * 2) STORED);
            CREATE TABLE events (payload jsonb NOT NULL, at timestamptz NOT NULL);
            ALTER TABLE events REPLICA IDENTITY FULL;
            """;

    private static MeshConfig loadFromEast(PgCluster c) {
        MeshConfig base = c.config();
        return new MeshConfig(base.nodes(), TableSelection.defaults(), "east");
    }

    /** Runs init with slices of 1 MB, so that tables of a few MB are copied in many page ranges at once. */
    private static String init(MeshConfig mesh, boolean expectOk) throws Exception {
        StringWriter text = new StringWriter();
        boolean ok = new Initializer(mesh, 3, 1L << 20, new PrintWriter(text, true), false).run();
        assertEquals(expectOk, ok, "init outcome; it said:\n" + text);
        return text.toString();
    }

    @Test
    void loadsAnEmptyDatabaseWhileTheSourceTakesWritesThenReplicates() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, SCHEMA);
            c.sql(0, """
                    INSERT INTO customers (email, mood, visits, note, balance, tags, span, home)
                    SELECT 'c' || g || '@x', (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, 1 + g % 7, 'n''' || g,
                           g % 1000, ARRAY['a', NULL, g::text], int4range(g, g + 10),
                           ROW('street ' || g, 1 + g % 9, (ARRAY['sad','ok','happy'])[1 + g % 3])::address
                      FROM generate_series(1, 150000) g;
                    INSERT INTO orders (customer_id, amount) SELECT 1 + g % 150000, g / 7.0 FROM generate_series(1, 100000) g;
                    INSERT INTO events SELECT jsonb_build_object('n', g % 50), '2026-01-01'::timestamptz FROM generate_series(1, 3000) g;
                    """);
            // The writer commits on east during the whole load; its ledger is the truth to compare with.
            Map<Long, String> ledger = new ConcurrentHashMap<>();
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicReference<Throwable> writerFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try (Connection conn = c.connect(0);
                     PreparedStatement ins = conn.prepareStatement(
                             "INSERT INTO customers (email, balance) VALUES (?, 1) RETURNING id, email || ':' || balance");
                     PreparedStatement upd = conn.prepareStatement(
                             "UPDATE customers SET balance = balance + 1 WHERE id = ? RETURNING id, email || ':' || balance")) {
                    long n = 0;
                    while (writing.get()) {
                        PreparedStatement ps;
                        if (n % 2 == 0) {
                            ins.setString(1, "w" + n + "@x");
                            ps = ins;
                        } else {
                            upd.setLong(1, 1 + ThreadLocalRandom.current().nextLong(150_000));
                            ps = upd;
                        }
                        try (ResultSet rs = ps.executeQuery()) {
                            if (rs.next()) {
                                ledger.put(rs.getLong(1), rs.getString(2));
                            }
                        }
                        n++;
                    }
                } catch (Throwable t) {
                    writerFailure.set(t);
                }
            }, "writer");
            writer.start();
            MeshConfig mesh = loadFromEast(c);
            String said = init(mesh, true);
            assertTrue(said.contains("initial load east -> west done: 3 table(s)"), said);

            MeshRunner runner = new MeshRunner(mesh, PgCluster.testRetry());
            try {
                runner.start();
                PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
                Thread.sleep(500);
                writing.set(false);
                writer.join();
                assertEquals(null, writerFailure.get(), "the writer failed");
                assertTrue(ledger.size() > 100, "the writer committed during the load: " + ledger.size());
                c.awaitSettled(Duration.ofSeconds(60));
                var report = io.pgmesh.validate.Validator.run(mesh, io.pgmesh.validate.ValidateOptions.defaults());
                assertTrue(report.identical() && report.caughtUp() && report.tables().size() == 3,
                        "validate says identical: " + report);
                for (String t : List.of("customers", "orders", "events")) {
                    assertSameRows(c, t);
                }
                Map<Long, String> onWest = new TreeMap<>();
                try (Connection w = c.connect(1); Statement st = w.createStatement();
                     ResultSet rs = st.executeQuery("SELECT id, email || ':' || balance FROM customers")) {
                    while (rs.next()) {
                        onWest.put(rs.getLong(1), rs.getString(2));
                    }
                }
                for (var e : ledger.entrySet()) {
                    String actual = onWest.get(e.getKey());
                    // An updated row may have been updated again later; the ledger holds the last write per key.
                    assertEquals(e.getValue(), actual, "row " + e.getKey() + " on west");
                }
                assertEquals(0, c.count(0, "SELECT count(*) FROM pgmesh.conflicts"),
                        "the loaded rows were not sent back to east");
                assertEquals(0, c.count(1, "SELECT count(*) FROM pgmesh.conflicts"), "no conflict on west");

                // The target's schema has what the source's has: keys, indexes, constraints, sequences past the rows.
                assertEquals(c.queryColumn(0, SHAPE), c.queryColumn(1, SHAPE), "constraints and indexes");
                // Rows streamed after the load carry east's later keys: avoiding those is the ID strategies' job.
                assertTrue(c.count(1, "SELECT last_value FROM customers_id_seq") >= 150_000, "serial past the loaded keys");
                assertTrue(c.count(1, "SELECT last_value FROM orders_id_seq") >= 100_000, "identity past the loaded keys");
                assertEquals("public.customers_id_seq", c.queryString(1, "SELECT pg_get_serial_sequence('customers', 'id')"),
                        "the serial's sequence is owned by its column, as on the source (dropping the table drops it)");
                assertEquals(0, c.count(1, "SELECT count(*) FROM orders WHERE doubled IS DISTINCT FROM amount * 2"),
                        "the generated column is computed on the target");
            } finally {
                writing.set(false);
                runner.close();
            }
        }
    }

    /** Both nodes hold the same rows; on failure names a few that differ instead of printing the tables. */
    private static void assertSameRows(PgCluster c, String table) throws Exception {
        List<String> east = List.of(c.dump(0, table, "t::text").split("\n"));
        List<String> west = List.of(c.dump(1, table, "t::text").split("\n"));
        if (!east.equals(west)) {
            var onlyEast = new java.util.TreeSet<>(east);
            west.forEach(onlyEast::remove);
            var onlyWest = new java.util.TreeSet<>(west);
            east.forEach(onlyWest::remove);
            throw new AssertionError(table + " differs: " + east.size() + " rows on east, " + west.size() + " on west; only on east "
                    + onlyEast.size() + " e.g. " + onlyEast.stream().limit(3).toList() + "; only on west " + onlyWest.size()
                    + " e.g. " + onlyWest.stream().limit(3).toList());
        }
    }

    private static final String SHAPE = """
            SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
             WHERE connamespace = 'public'::regnamespace
            UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL SELECT c.relname || ' identity ' || c.relreplident::text FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            ORDER BY 1""";

    private static final String PARTITION_TREE = """
            SELECT c.relname || ' ' || c.relkind::text || ' of ' || COALESCE(p.relname, '-') || ' '
                   || COALESCE(pg_get_expr(c.relpartbound, c.oid), '') || ' ' || COALESCE(pg_get_partkeydef(c.oid), '')
              FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             ORDER BY 1""";

    @Test
    void createsPartitionedTablesWithTheirPartitionsAndReplicatesThroughTheParent() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, """
                    CREATE TABLE events (id bigserial, at date NOT NULL, kind text NOT NULL, body text,
                                         PRIMARY KEY (id, at, kind), CONSTRAINT body_not_empty CHECK (body <> ''))
                        PARTITION BY RANGE (at);
                    CREATE INDEX events_body ON events (body);
                    CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
                    CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')
                        PARTITION BY LIST (kind);
                    CREATE TABLE events_2026_02_a PARTITION OF events_2026_02 FOR VALUES IN ('a');
                    CREATE TABLE events_2026_02_rest PARTITION OF events_2026_02 DEFAULT;
                    CREATE INDEX events_2026_01_kind ON events_2026_01 (kind);
                    INSERT INTO events (at, kind, body)
                        SELECT date '2026-01-01' + (g % 59), CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END, 'e' || g
                          FROM generate_series(1, 3000) g;
                    """);
            MeshConfig mesh = loadFromEast(c);
            String said = init(mesh, true);
            assertTrue(said.contains("initial load east -> west done: 3 table(s), 3,000 rows"), said);
            assertEquals(c.queryColumn(0, PARTITION_TREE), c.queryColumn(1, PARTITION_TREE),
                    "the same partitioned tables and partitions, bounds and keys");
            assertEquals(c.queryColumn(0, SHAPE), c.queryColumn(1, SHAPE), "constraints and indexes");
            assertEquals(c.dump(0, "events", "id"), c.dump(1, "events", "id"), "the rows, read through the parent");
            assertEquals("public.events_id_seq", c.queryString(1, "SELECT pg_get_serial_sequence('events', 'id')"));
            assertTrue(c.count(1, "SELECT last_value FROM events_id_seq") >= 3000, "serial past the loaded keys");

            MeshRunner runner = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
            runner.start();
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.sql(1, "INSERT INTO events (id, at, kind, body) VALUES (1000001, '2026-02-10', 'a', 'from west')");
            c.sql(0, "INSERT INTO events (id, at, kind, body) VALUES (1000002, '2026-01-10', 'b', 'from east')");
            c.awaitCaughtUp(Duration.ofSeconds(30));
            assertEquals("from west", c.queryString(0, "SELECT body FROM events_2026_02_a WHERE id = 1000001"),
                    "a row written through west's parent reaches east's partition");
            assertEquals(c.dump(0, "events", "id"), c.dump(1, "events", "id"));
            runner.close();
        }
    }

    @Test
    void refusesATargetThatHoldsRowsTouchingNothingAndIsIdempotentOtherwise() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
            c.sql(0, "INSERT INTO a SELECT generate_series(1, 10); INSERT INTO b VALUES (1)");
            c.sql(1, "INSERT INTO b VALUES (7)");
            MeshConfig mesh = loadFromEast(c);
            String said = init(mesh, false);
            assertTrue(said.contains("west is not empty") && said.contains("public.b") && !said.contains("public.a,"), said);
            for (int n = 0; n < 2; n++) {
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_slots"), "no slot on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_publication"), "no publication on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmesh'"), "no schema");
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_origin"), "no origin");
            }
            assertEquals("7", c.queryString(1, "SELECT string_agg(id::text, ',') FROM b"), "west's rows untouched");

            c.sql(1, "DELETE FROM b");
            said = init(mesh, true);
            assertTrue(said.contains("initial load east -> west done: 2 table(s), 11 rows"), said);
            List<String> slots = c.queryColumn(0, "SELECT slot_name || confirmed_flush_lsn FROM pg_replication_slots");
            String again = init(mesh, true);
            assertTrue(again.contains("the mesh is already set up: nothing changed"), again);
            assertTrue(again.contains("west was loaded from east before"), again);
            assertEquals(slots, c.queryColumn(0, "SELECT slot_name || confirmed_flush_lsn FROM pg_replication_slots"));
            assertEquals(10, c.count(1, "SELECT count(*) FROM a"), "not loaded twice");
        }
    }

    @Test
    void anInterruptedLoadHoldsItsTasksAndTheNextInitStartsItOver() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, "CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, 'v' || g FROM generate_series(1, 5000) g;"
                    + "CREATE TABLE b (id int PRIMARY KEY, n int); INSERT INTO b SELECT g, g FROM generate_series(1, 100) g");
            // An empty b of another shape on west makes the copy of b fail after a was created and loaded.
            c.sql(1, "CREATE TABLE b (id int PRIMARY KEY, n text)");
            MeshConfig mesh = loadFromEast(c);
            try {
                init(mesh, true);
                throw new AssertionError("the load of b should have failed");
            } catch (java.sql.SQLException expected) {
                assertTrue(expected.getMessage().contains("COPY b"), expected.getMessage());
            }
            assertEquals("loading", c.queryString(1, "SELECT state FROM pgmesh.initial_load WHERE source_node = 'east'"));

            MeshRunner runner = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
            runner.start();
            // Both directions wait: west's rows are incomplete, and what it would send is incomplete too.
            PgCluster.await(Duration.ofSeconds(30), "both tasks to wait for the load",
                    () -> runner.tasks().stream().allMatch(t -> t.state() == io.pgmesh.task.TaskState.WAITING));
            runner.close();

            c.sql(1, "DROP TABLE b");
            String said = init(mesh, true);
            assertTrue(said.contains("removed the interrupted initial load from east (dropped 1 table(s)"), said);
            assertTrue(said.contains("initial load east -> west done: 2 table(s), 5,100 rows"), said);
            assertSameRows(c, "a");
            assertSameRows(c, "b");
            MeshRunner again = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
            again.start();
            PgCluster.awaitStreaming(again, Duration.ofSeconds(60));
            c.sql(0, "UPDATE b SET n = -n WHERE id <= 10");
            c.awaitSettled(Duration.ofSeconds(60));
            assertSameRows(c, "b");
        }
    }

    @Test
    void initAndTeardownFromTheCommandLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)");
            c.sql(1, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
            java.nio.file.Path mesh = c.writeMeshFile(dir);
            java.nio.file.Files.writeString(mesh, "initial-load:\n  from: east\n", java.nio.file.StandardOpenOption.APPEND);

            Cli refused = Cli.run("init", "-c", mesh.toString());
            assertEquals(1, refused.code(), refused.toString());
            assertTrue(refused.out().contains("refused: west is not empty") && refused.out().contains("public.t"), refused.toString());

            c.sql(1, "DELETE FROM t");
            Cli loaded = Cli.run("init", "-c", mesh.toString());
            assertEquals(0, loaded.code(), loaded.toString());
            assertTrue(loaded.out().contains("initial load east -> west done: 1 table(s), 100 rows"), loaded.toString());
            assertEquals(100, c.count(1, "SELECT count(*) FROM t"));

            Cli torn = Cli.run("teardown", "-c", mesh.toString());
            assertEquals(0, torn.code(), torn.toString());
            assertTrue(torn.out().contains("west: removed slot pgmesh_west_east"), torn.toString());
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_replication_slots") + c.count(1,
                    "SELECT count(*) FROM pg_replication_slots"), "no slot left");
            Cli again = Cli.run("teardown", "-c", mesh.toString());
            assertTrue(again.out().contains("east: nothing of pgmesh found"), again.toString());

            // Both nodes hold the same rows now: a mesh file without initial-load sets them up again.
            Cli refusedAgain = Cli.run("init", "-c", mesh.toString());
            assertEquals(1, refusedAgain.code(), "a loaded node is not loaded twice\n" + refusedAgain);
            mesh = c.writeMeshFile(dir);
            Cli plain = Cli.run("init", "-c", mesh.toString());
            assertEquals(0, plain.code(), plain.toString());
            // A column default that calls pgmesh.uuid_v7 keeps the ID functions alive through a teardown.
            c.sql(1, "CREATE TABLE tagged (id uuid PRIMARY KEY DEFAULT pgmesh.uuid_v7(2::smallint), note text)");
            Cli kept = Cli.run("teardown", "-c", mesh.toString());
            assertEquals(0, kept.code(), kept.toString());
            assertTrue(kept.out().contains("west: kept schema pgmesh with its ID functions"), kept.toString());
            c.sql(1, "INSERT INTO tagged (note) VALUES ('still works')");
            assertEquals(0, c.count(1, "SELECT count(*) FROM pg_class WHERE relnamespace = 'pgmesh'::regnamespace"
                    + " AND relname IN ('conflicts', 'task_progress', 'initial_load')"), "replication tables gone");
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmesh'"), "east had no user");
            assertEquals(2, Cli.run("init", "-c", mesh.toString(), "--jobs", "0").code(), "a bad option is a usage error");
        }
    }

    @Test
    void aTableThreeTimesTheHeapLoadsWithBoundedMemory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, "CREATE TABLE wide (id int PRIMARY KEY, pad text);"
                    + " INSERT INTO wide SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 1000000) g");
            java.nio.file.Path mesh = c.writeMeshFile(dir);
            java.nio.file.Files.writeString(mesh, "initial-load:\n  from: east\n", java.nio.file.StandardOpenOption.APPEND);
            assertTrue(c.count(0, "SELECT pg_relation_size('wide')") > 3 * 64L * 1048576, "the table outgrows the heap");
            try (PgmeshProcess init = PgmeshProcess.start(dir, List.of("-Xmx64m"), Map.of(), "init", "-c", mesh.toString(),
                    "--slice-mb", "32")) {
                assertEquals(0, init.waitFor(Duration.ofSeconds(180)), init.stdout() + init.stderr());
                assertTrue(init.stdout().contains("initial load east -> west done: 1 table(s), 1,000,000 rows"), init.stdout());
            }
            assertEquals(c.queryString(0, "SELECT md5(string_agg(w::text, ',' ORDER BY id)) FROM wide w"),
                    c.queryString(1, "SELECT md5(string_agg(w::text, ',' ORDER BY id)) FROM wide w"));
        }
    }

    @Test
    void teardownRemovesEveryPgmeshObjectAndKeepsEveryRow() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' FROM generate_series(1, 500) g");
            MeshConfig mesh = loadFromEast(c);
            init(mesh, true);
            MeshRunner runner = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
            runner.start();
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.sql(1, "INSERT INTO t VALUES (501, 'w')");
            c.awaitSettled(Duration.ofSeconds(60));

            assertEquals(1, c.count(0, "SELECT count(*) FROM pg_trigger WHERE tgname = 'pgmesh_deleted'"),
                    "run put its tombstone trigger on t");
            StringWriter text = new StringWriter();
            assertFalse(new Teardown(mesh, new PrintWriter(text, true)).run(false), "refuses while run is connected");
            assertTrue(text.toString().contains("refused: pgmesh is still connected"), text.toString());
            assertEquals(1, c.count(0, "SELECT count(*) FROM pg_replication_slots"), "nothing removed on east");
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_replication_slots"), "nothing removed on west");
            runner.close();

            text = new StringWriter();
            assertTrue(new Teardown(mesh, new PrintWriter(text, true)).run(false), text.toString());
            assertTrue(text.toString().contains("east: removed slot pgmesh_east_west, publication pgmesh, origin pgmesh_west,"
                    + " the DDL event triggers, schema pgmesh; released"), text.toString());
            for (int n = 0; n < 2; n++) {
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_slots"), "slots on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_publication"), "publication on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_origin"), "origins on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmesh'"), "schema");
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_event_trigger"), "event triggers on node " + n);
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgmesh%'"),
                        "no tombstone trigger left on a user table of node " + n);
                assertEquals(501, c.count(n, "SELECT count(*) FROM t"), "every user row stays on node " + n);
            }
        }
    }
}
