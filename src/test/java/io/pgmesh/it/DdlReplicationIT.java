package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.apply.Quarantine;
import io.pgmesh.ddl.MeshDdl;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Schema changes made on one node reach the other at their place among the rows, while both
 * nodes write: columns added and dropped, tables created later (with rows in the same
 * transaction, and without a key), indexes (CONCURRENTLY too), types, comments. Then what must
 * not pass silently: a query string of several statements is refused, a change that fails on the
 * target holds its task until it is discarded, and pgmesh ddl changes every node at once.
 */
@Timeout(300)
class DdlReplicationIT {
    private static final String COLUMNS = "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attname)"
            + " FROM pg_attribute WHERE attrelid = '%s'::regclass AND attnum > 0 AND NOT attisdropped";

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(strings = {"15.13.0", "17.5.0", "18.1.0"})
    void schemaChangesTravelWithTheRowsWhileBothNodesWrite(String version) throws Exception {
        try (PgCluster c = PgCluster.start(List.of(version, version), java.util.Map.of())) {
            c.sqlAll("CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL)");
            MeshRunner runner = c.startMesh();
            try (Writers writers = new Writers(c)) {
                // A column added on east while west writes rows that lack it: those take its default on east.
                c.appSql(0, "ALTER TABLE accounts ADD COLUMN note text DEFAULT 'none'");
                // A table created later, with rows in the same transaction as its CREATE.
                try (Connection app = c.connectApp(0)) {
                    app.setAutoCommit(false);
                    try (Statement st = app.createStatement()) {
                        st.execute("CREATE TABLE later (id int PRIMARY KEY, v text)");
                        st.execute("INSERT INTO later SELECT g, 'row ' || g FROM generate_series(1, 500) g");
                    }
                    app.commit();
                }
                c.appSql(1, "CREATE TABLE keyless (a int, b text)");
                // An index built CONCURRENTLY waits for older transactions: an ALTER of the same table
                // arriving meanwhile would deadlock with it (PostgreSQL cancels the build), as a local one would.
                c.awaitCaughtUp(Duration.ofSeconds(30));
                c.appSql(1, "CREATE INDEX CONCURRENTLY accounts_balance ON accounts (balance)");
                c.appSql(0, "CREATE TYPE mood AS ENUM ('calm', 'busy')");
                c.awaitCaughtUp(Duration.ofSeconds(30)); // what follows on west builds on east's changes
                c.appSql(1, "ALTER TYPE mood ADD VALUE 'tired'");
                c.appSql(0, "ALTER TABLE later ADD COLUMN m mood, ADD CONSTRAINT v_not_empty CHECK (v <> '')");
                c.appSql(1, "COMMENT ON TABLE later IS 'made on east; commented on west'");
                c.appSql(0, "ALTER TABLE later RENAME COLUMN v TO label");
                c.awaitCaughtUp(Duration.ofSeconds(30));
                c.appSql(1, "INSERT INTO later (id, label, m) VALUES (1000, 'from west', 'tired')");
                c.appSql(0, "CREATE SEQUENCE ticket_no START 100");
                c.appSql(1, "ALTER TABLE accounts ADD COLUMN scratch int");
                c.appSql(1, "ALTER TABLE accounts DROP COLUMN scratch");
                Thread.sleep(500);
                writers.stop();
            }
            c.awaitSettled(Duration.ofSeconds(60));
            assertEquals(List.of(), PgCluster.notStreaming(runner), "every task streams on");
            for (String table : List.of("accounts", "later")) {
                assertEquals(c.queryString(0, COLUMNS.formatted(table)), c.queryString(1, COLUMNS.formatted(table)),
                        "the columns of " + table + " are the same on both nodes");
                assertEquals(c.dump(0, table, "id"), c.dump(1, table, "id"), "every row of " + table + " on both nodes");
            }
            assertTrue(c.count(1, "SELECT count(*) FROM accounts WHERE note IS NULL") == 0,
                    "rows west wrote before it had the column took its default on east, and east's own rows have it");
            assertEquals(501, c.count(1, "SELECT count(*) FROM later"), "the rows written with CREATE TABLE arrived");
            assertEquals("t", c.queryString(0, "SELECT (to_regclass('accounts_balance') IS NOT NULL)::text").substring(0, 1),
                    "the index made CONCURRENTLY on west is on east");
            assertEquals("made on east; commented on west", c.queryString(0, "SELECT obj_description('later'::regclass)"));
            assertEquals("{calm,busy,tired}", c.queryString(0, "SELECT enum_range(NULL::mood)::text"));
            assertEquals("100", c.queryString(1, "SELECT start_value::text FROM pg_sequences WHERE sequencename = 'ticket_no'"));
            assertEquals("keyless", c.queryString(0, "SELECT relname FROM pg_class WHERE relname = 'keyless'"),
                    "a table without a key is created on the other node too");
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'keyless'"),
                    "but is left out of the publication");
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_publication_tables WHERE tablename = 'later'"),
                    "a table created later joins the publication where it was replayed");
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'later'::regclass"
                    + " AND tgname = 'pgmesh_deleted'"), "and gets its tombstones");

            // Several statements in one query string cannot be replayed from current_query().
            // The simple query protocol sends the string as one query, as psql -c does (pgjdbc would split it).
            SQLException refused = assertThrows(SQLException.class, () -> {
                try (Connection simple = java.sql.DriverManager.getConnection(c.server(0).jdbcUrl(PgCluster.DB)
                        + "?preferQueryMode=simple", "postgres", null); Statement st = simple.createStatement()) {
                    st.execute("ALTER TABLE later ADD COLUMN a int; ALTER TABLE later ADD COLUMN b int");
                }
            });
            assertTrue(refused.getMessage().contains("holds 2 statements"), refused.getMessage());
            assertTrue(refused.getMessage().contains("pgmesh ddl"), "the hint names the way out: " + refused.getMessage());
            assertEquals("0", c.queryString(0, "SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'later'::regclass"
                    + " AND attname IN ('a', 'b')"), "the refused change did not happen");

            // A change that fails on its target holds the task there, named, until discarded.
            c.sql(1, "CREATE TABLE only_west (id int PRIMARY KEY)"); // made on west alone
            c.appSql(0, "CREATE TABLE only_west (id int PRIMARY KEY, extra text)");
            c.appSql(0, "INSERT INTO accounts (id, balance) VALUES (-1, 1)");
            Task eastToWest = task(runner, "east->west");
            PgCluster.await(Duration.ofSeconds(30), "east->west to hold at the failed change",
                    () -> eastToWest.state() == TaskState.RETRYING && eastToWest.detail().contains("only_west"));
            String why = eastToWest.detail();
            assertTrue(why.contains("CREATE TABLE public.only_west") && why.contains("committed on east")
                    && why.contains("pgmesh discard west:"), why);
            assertEquals(0, c.count(1, "SELECT count(*) FROM accounts WHERE id = -1"), "nothing after it is applied");
            try (Connection west = c.connect(1)) {
                Quarantine.discard(west, "west", heldId(eastToWest));
            }
            PgCluster.await(Duration.ofSeconds(60), "the row after the discarded change",
                    () -> c.countOrMinusOne(1, "SELECT count(*) FROM accounts WHERE id = -1") == 1);
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(30));

            // pgmesh ddl: every node at once, under writes (to another table).
            try (Writers writers = new Writers(c, "INSERT INTO accounts VALUES (%d, %d, 'written')")) {
                StringWriter out = new StringWriter();
                new MeshDdl(c.config(), Duration.ofSeconds(30), new PrintWriter(out, true))
                        .run("ALTER TABLE later RENAME COLUMN label TO title");
                assertTrue(out.toString().contains("applied on east, west"), out.toString());
                writers.stop();
            }
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 2; n++) {
                assertTrue(c.queryString(n, COLUMNS.formatted("later")).contains("title:text"), "renamed on node " + n);
            }
            assertEquals(c.dump(0, "accounts", "id"), c.dump(1, "accounts", "id"));
            assertEquals(List.of(), PgCluster.notStreaming(runner));
        }
    }

    @org.junit.jupiter.api.Test
    void twoNodesChangingOneTableAtOnceHoldWithBothSidesNamedUntilAPersonDecides() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL)");
            MeshRunner first = c.startMesh();
            first.close();
            // Made while nothing replicates: each node adds the column before it hears of the other's.
            c.appSql(0, "ALTER TABLE accounts ADD COLUMN c integer");
            c.appSql(1, "ALTER TABLE accounts ADD COLUMN c text");
            c.appSql(0, "INSERT INTO accounts VALUES (1, 1, 7)");
            MeshRunner runner = c.track(new MeshRunner(c.config(), PgCluster.testRetry()));
            runner.start();
            Task toWest = task(runner, "east->west");
            Task toEast = task(runner, "west->east");
            PgCluster.await(Duration.ofSeconds(30), "both tasks to hold at the other's change",
                    () -> String.valueOf(toWest.detail()).contains("already exists")
                            && String.valueOf(toEast.detail()).contains("already exists"));
            assertTrue(toWest.detail().contains("\"ALTER TABLE accounts ADD COLUMN c integer\" committed on east")
                    && toWest.detail().contains("on west, public.accounts has (id bigint, balance integer, c text)"),
                    "east's change and west's column, both named: " + toWest.detail());
            assertTrue(toEast.detail().contains("ADD COLUMN c text") && toEast.detail().contains("c integer)"),
                    toEast.detail());
            assertEquals(0, c.count(1, "SELECT count(*) FROM accounts"), "nothing after the clash is applied");

            // The person decides for east's integer: west's column is made so by hand, both entries discarded.
            c.sql(1, "ALTER TABLE accounts ALTER COLUMN c TYPE integer USING c::integer");
            try (Connection west = c.connect(1); Connection east = c.connect(0)) {
                Quarantine.discard(west, "west", heldId(toWest));
                Quarantine.discard(east, "east", heldId(toEast));
            }
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.appSql(1, "INSERT INTO accounts VALUES (2, 2, 8)");
            c.awaitSettled(Duration.ofSeconds(30));
            assertEquals(c.dump(0, "accounts", "id"), c.dump(1, "accounts", "id"));
            assertEquals(2, c.count(1, "SELECT count(*) FROM accounts WHERE c IS NOT NULL"));
        }
    }

    @org.junit.jupiter.api.Test
    void withReplicationOffNothingIsCapturedAndPgmeshDdlIsAllOrNothing(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE accounts (id bigint PRIMARY KEY, balance int NOT NULL)");
            io.pgmesh.config.MeshConfig off = new io.pgmesh.config.MeshConfig(c.config().nodes(), c.config().tables(), null,
                    c.config().conflicts(), c.config().monitor(), false);
            MeshRunner runner = c.startMesh(off);
            c.appSql(0, "ALTER TABLE accounts ADD COLUMN only_east int");
            c.appSql(0, "INSERT INTO accounts (id, balance) VALUES (1, 1)");
            c.awaitSettled(Duration.ofSeconds(30));
            assertEquals(0, c.count(1, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass"
                    + " AND attname = 'only_east'"), "ddl.replicate: false captures nothing");
            assertEquals(1, c.count(1, "SELECT count(*) FROM accounts"), "rows still replicate");

            // A change that fails on one node is rolled back on all of them.
            java.nio.file.Path file = c.writeMeshFile(dir);
            c.sql(1, "CREATE TABLE west_only (id int)");
            Cli failed = Cli.run("ddl", "-c", file.toString(), "CREATE TABLE west_only (id int PRIMARY KEY)");
            assertEquals(1, failed.code(), failed.toString());
            assertTrue(failed.err().contains("failed on west") && failed.err().contains("rolled back on every node"),
                    failed.toString());
            assertEquals("", c.queryString(0, "SELECT coalesce(to_regclass('west_only')::text, '')"),
                    "east rolled back its part");
            Cli usage = Cli.run("ddl", "-c", file.toString());
            assertEquals(2, usage.code(), usage.toString());
            Cli concurrently = Cli.run("ddl", "-c", file.toString(), "CREATE INDEX CONCURRENTLY i ON accounts (balance)");
            assertEquals(2, concurrently.code(), concurrently.toString());

            Cli applied = Cli.run("ddl", "-c", file.toString(), "ALTER TABLE accounts ADD COLUMN everywhere text DEFAULT 'x'");
            assertEquals(0, applied.code(), applied.toString());
            for (int n = 0; n < 2; n++) {
                assertEquals(1, c.count(n, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'accounts'::regclass"
                        + " AND attname = 'everywhere'"), "pgmesh ddl changed node " + n);
            }
            c.appSql(1, "INSERT INTO accounts (id, balance, everywhere) VALUES (2, 2, 'from west')");
            c.awaitSettled(Duration.ofSeconds(30));
            assertEquals("from west", c.queryString(0, "SELECT everywhere FROM accounts WHERE id = 2"));
            assertEquals(List.of(), PgCluster.notStreaming(runner));
        }
    }

    private static Task task(MeshRunner runner, String name) {
        return runner.tasks().stream().filter(t -> t.spec().name().equals(name)).findFirst().orElseThrow();
    }

    private static long heldId(Task t) {
        return Long.parseLong(t.detail().replaceAll("(?s).*pgmesh discard \\w+:(\\d+).*", "$1"));
    }

    /** One writer per node, inserting accounts in small transactions until stopped; names only id and balance. */
    private static final class Writers implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final List<Thread> threads = new ArrayList<>();
        private final AtomicLong written = new AtomicLong();

        Writers(PgCluster c) {
            this(c, "INSERT INTO accounts (id, balance) VALUES (%d, %d)");
        }

        /** {@code insert}: a statement with two %d, the key and the node's index. */
        Writers(PgCluster c, String insert) {
            for (int n = 0; n < 2; n++) {
                int node = n;
                Thread t = new Thread(() -> {
                    long next = (node + 1) * 10_000_000L + System.nanoTime() % 1_000_000 * 5;
                    try (Connection conn = c.connectApp(node); Statement st = conn.createStatement()) {
                        while (running.get()) {
                            st.execute(String.format(insert, next++, node));
                            written.incrementAndGet();
                            Thread.sleep(3);
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }, "writer " + n);
                t.start();
                threads.add(t);
            }
        }

        void stop() throws Exception {
            running.set(false);
            for (Thread t : threads) {
                t.join(10_000);
            }
            if (failure.get() != null) {
                throw new AssertionError("a writer failed", failure.get());
            }
            assertNotNull(written);
            assertTrue(written.get() > 0, "the writers wrote");
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            for (Thread t : threads) {
                t.join(10_000);
            }
        }
    }
}
