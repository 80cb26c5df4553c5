package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.setup.Initializer;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A node joins a mesh that runs and takes writes on every node; a node the mesh file says is
 * to be loaded is never replicated to or from before its load; an interrupted load run again
 * never empties the seed. On real servers, every row compared.
 */
@Timeout(300)
class JoinUnderLoadIT {
    private static final String SCHEMA = """
            CREATE TABLE ledger (node text, seq bigint, amount int NOT NULL, note text, PRIMARY KEY (node, seq));
            CREATE TABLE counters (id int PRIMARY KEY, owner text NOT NULL, value bigint NOT NULL);
            INSERT INTO counters SELECT g, CASE WHEN g % 2 = 0 THEN 'east' ELSE 'west' END, 0 FROM generate_series(1, 40) g;
            INSERT INTO ledger SELECT 'seed', g, g, repeat('x', 50) FROM generate_series(1, 30000) g;
            """;

    /** The first {@code nodes} servers as a mesh loaded from east. */
    private static MeshConfig mesh(PgCluster c, int nodes) {
        return new MeshConfig(c.config().nodes().subList(0, nodes), TableSelection.defaults(), "east");
    }

    private static String init(MeshConfig mesh, boolean expectOk) throws Exception {
        StringWriter text = new StringWriter();
        boolean ok = new Initializer(mesh, 2, 1L << 20, new PrintWriter(text, true), false).run();
        assertEquals(expectOk, ok, "init outcome; it said:\n" + text);
        return text.toString();
    }

    /**
     * Writes on one node until stopped: ledger rows of its own (some deleted again) and increments
     * of the counters it owns, so that nothing it does conflicts with the other writer and the
     * end state is exact.
     */
    private static final class Writer extends Thread {
        private final PgCluster cluster;
        private final int node;
        private final AtomicBoolean writing = new AtomicBoolean(true);
        final AtomicLong live = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        /** Also increments counters every node increments: conflicts in flight at the join's snapshot. */
        final AtomicBoolean hot;

        Writer(PgCluster cluster, int node) {
            this(cluster, node, false);
        }

        Writer(PgCluster cluster, int node, boolean hot) {
            super("writer " + cluster.name(node));
            this.cluster = cluster;
            this.node = node;
            this.hot = new AtomicBoolean(hot);
        }

        @Override
        public void run() {
            String name = cluster.name(node);
            Random random = new Random(node);
            try (Connection conn = cluster.connect(node);
                 PreparedStatement ins = conn.prepareStatement("INSERT INTO ledger VALUES (?, ?, ?, ?)");
                 PreparedStatement bump = conn.prepareStatement(
                         "UPDATE counters SET value = value + 1 WHERE id = ? AND owner = ?");
                 PreparedStatement del = conn.prepareStatement("DELETE FROM ledger WHERE node = ? AND seq = ?");
                 PreparedStatement shared = conn.prepareStatement(
                         "UPDATE counters SET value = value + 1, owner = ? WHERE id = ?")) {
                long seq = 0;
                while (writing.get()) {
                    seq++;
                    ins.setString(1, name);
                    ins.setLong(2, seq);
                    ins.setInt(3, random.nextInt(1000));
                    ins.setString(4, "n" + seq);
                    ins.executeUpdate();
                    live.incrementAndGet();
                    if (seq % 3 == 0) {
                        bump.setInt(1, 1 + random.nextInt(40));
                        bump.setString(2, name);
                        bump.executeUpdate();
                    }
                    if (hot.get()) {
                        shared.setString(1, name);
                        shared.setInt(2, 1 + random.nextInt(4));
                        shared.executeUpdate();
                    }
                    if (seq % 7 == 0) {
                        del.setString(1, name);
                        del.setLong(2, seq - 5);
                        live.addAndGet(-del.executeUpdate());
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }

        void finish() throws InterruptedException {
            writing.set(false);
            join();
            assertNull(failure.get(), "the writer on " + cluster.name(node) + " failed: " + failure.get());
        }
    }

    @Test
    void aNodeJoinsWhileEveryOldNodeWritesAndGetsEveryRowExactlyOnce() throws Exception {
        joinUnderLoad(false);
    }

    /**
     * Both old nodes also change the same few rows all the time, so changes that conflict are in
     * flight when the seed's snapshot is taken: the new node must resolve them as the old ones do.
     */
    @Test
    void aNodeJoinsWhileTheOldNodesConflictOnHotRowsAndAllThreeEndIdentical() throws Exception {
        joinUnderLoad(true);
    }

    private void joinUnderLoad(boolean hot) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sql(0, SCHEMA);
            MeshConfig two = mesh(c, 2);
            init(two, true);
            MeshRunner old = c.track(new MeshRunner(two, PgCluster.testRetry()));
            old.start();
            PgCluster.awaitStreaming(old, Duration.ofSeconds(60));
            List<Writer> writers = List.of(new Writer(c, 0, hot), new Writer(c, 1, hot));
            writers.forEach(Thread::start);
            Thread.sleep(1500);

            // north joins while both old nodes write and replicate to each other.
            MeshConfig three = mesh(c, 3);
            String said = init(three, true);
            // The hot rows stop changing right after the join: what the new node decided about the
            // conflicts in flight at its snapshot is what stays.
            writers.forEach(w -> w.hot.set(false));
            assertTrue(said.contains("initial load east -> north done"), said);
            assertTrue(said.contains("the changes of [west] that east has not applied yet follow"), said);
            Thread.sleep(1000);
            old.close();
            Thread.sleep(500);
            MeshRunner runner = c.track(new MeshRunner(three, PgCluster.testRetry()));
            runner.start();
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            Thread.sleep(1500);
            for (Writer w : writers) {
                w.finish();
            }
            c.awaitSettled(Duration.ofSeconds(90));

            long expected = 30000 + writers.get(0).live.get() + writers.get(1).live.get();
            assertTrue(writers.get(1).live.get() > 200, "west wrote during the join: " + writers.get(1).live.get());
            for (int n = 0; n < 3; n++) {
                assertEquals(expected, c.count(n, "SELECT count(*) FROM ledger"),
                        c.name(n) + " holds every ledger row that was written and not deleted, once");
            }
            String ledger = c.dump(0, "ledger", "node, seq");
            String counters = c.dump(0, "counters", "id");
            for (int n = 1; n < 3; n++) {
                assertEquals(ledger, c.dump(n, "ledger", "node, seq"), c.name(n) + " holds east's ledger rows");
                assertEquals(counters, c.dump(n, "counters", "id"), c.name(n) + " holds east's counters");
            }
            assertTrue(c.count(2, "SELECT sum(value) FROM counters") > 0, "the counters moved during the join");
            if (!hot) {
                assertEquals(0, c.count(2, "SELECT count(*) FROM pgmesh.conflicts"),
                        "nothing arrived on north twice, and no row was missing for a later change");
            }
        }
    }

    /**
     * A conflict still in flight when the seed's snapshot is taken, made deterministic: west
     * changes a row, then east changes it too without having seen west's change (nothing
     * replicates meanwhile), then north joins. east keeps its later version when west's arrives;
     * north, which has east's version from the snapshot, must decide the same.
     */
    @Test
    void aConflictInFlightAtTheSnapshotIsResolvedOnTheNewNodeAsOnTheOldOnes() throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sql(0, SCHEMA);
            // A key the server generates ALWAYS: the new node's copy is stamped without setting it.
            c.sql(0, "CREATE TABLE tickets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text);"
                    + " INSERT INTO tickets (title) SELECT 't' || g FROM generate_series(1, 10) g");
            MeshConfig two = mesh(c, 2);
            init(two, true);
            MeshRunner old = c.track(new MeshRunner(two, PgCluster.testRetry()));
            old.start();
            PgCluster.awaitStreaming(old, Duration.ofSeconds(60));
            c.sql(0, "UPDATE counters SET value = 1 WHERE id <= 10");
            PgCluster.await(Duration.ofSeconds(30), "west to have east's update",
                    () -> c.countOrMinusOne(1, "SELECT count(*) FROM counters WHERE value = 1") == 10);
            old.close();
            c.sql(1, "UPDATE counters SET value = 200, owner = 'west' WHERE id = 3;"
                    + " UPDATE tickets SET title = 'west' WHERE id = 3");
            Thread.sleep(20);
            c.sql(0, "UPDATE counters SET value = 100, owner = 'east' WHERE id = 3;"
                    + " UPDATE tickets SET title = 'east' WHERE id = 3");

            init(mesh(c, 3), true);
            c.startMesh(mesh(c, 3));
            c.awaitSettled(Duration.ofSeconds(60));
            assertEquals("100 east", c.queryString(0, "SELECT value || ' ' || owner FROM counters WHERE id = 3"),
                    "east kept its later version (last update wins)");
            for (int n = 1; n < 3; n++) {
                assertEquals(c.dump(0, "counters", "id"), c.dump(n, "counters", "id"), c.name(n) + " decided as east did");
                assertEquals(c.dump(0, "tickets", "id"), c.dump(n, "tickets", "id"), c.name(n) + " decided as east did");
            }
        }
    }

    /** The mesh file of the first {@code nodes} servers, loaded from east. */
    private static java.nio.file.Path meshFile(PgCluster c, int nodes, java.nio.file.Path dir) throws Exception {
        StringBuilder y = new StringBuilder("nodes:\n");
        for (int i = 0; i < nodes; i++) {
            y.append("  - {name: ").append(c.name(i)).append(", host: 127.0.0.1, port: ").append(c.server(i).port())
                    .append(", database: ").append(PgCluster.DB).append(", user: postgres, sslmode: disable}\n");
        }
        y.append("initial-load:\n  from: east\n");
        java.nio.file.Path file = dir.resolve("mesh.yaml");
        java.nio.file.Files.writeString(file, y.toString());
        return file;
    }

    @Test
    void runTakesTheJoinedNodesTasksOnSighupWithoutARestart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sql(0, SCHEMA);
            java.nio.file.Path file = meshFile(c, 2, dir);
            Cli first = Cli.run("init", "-c", file.toString());
            assertEquals(0, first.code(), first.toString());
            try (PgmeshProcess run = PgmeshProcess.start(dir, "run", "-c", file.toString())) {
                c.sql(1, "INSERT INTO ledger VALUES ('west', 1, 1, 'before the join')");
                PgCluster.await(Duration.ofSeconds(60), "west's row on east",
                        () -> c.countOrMinusOne(0, "SELECT count(*) FROM ledger WHERE node = 'west'") == 1);

                // A broken file is reported and changes nothing.
                java.nio.file.Files.writeString(file, "nodes: [");
                signal(run, "HUP");
                try {
                    PgCluster.await(Duration.ofSeconds(30), "the refusal of a broken file",
                            () -> run.output().contains("was not reloaded, the tasks run on as before"));
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; run " + (run.isAlive() ? "runs" : "ended") + ", said:\n"
                            + run.output(), e);
                }

                meshFile(c, 3, dir);
                Cli join = Cli.run("init", "-c", file.toString());
                assertEquals(0, join.code(), join.toString());
                assertTrue(join.out().contains("initial load east -> north done"), join.toString());
                signal(run, "HUP");
                c.sql(1, "INSERT INTO ledger VALUES ('west', 2, 2, 'after the join')");
                c.sql(2, "INSERT INTO ledger VALUES ('north', 1, 1, 'from the new node')");
                for (int n = 0; n < 3; n++) {
                    int node = n;
                    PgCluster.await(Duration.ofSeconds(60), "every row on " + c.name(n),
                            () -> c.countOrMinusOne(node, "SELECT count(*) FROM ledger") == 30003);
                }
                assertTrue(run.isAlive(), "run went on: " + run.tail());
                assertTrue(run.output().contains("restarting the tasks with the mesh file") && run.output().contains("(3 node(s))"), run.tail());
                run.terminate();
                assertEquals(0, run.waitFor(Duration.ofSeconds(30)), run.tail());
            }
        }
    }

    private static void signal(PgmeshProcess process, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
        assertEquals(0, kill.waitFor(), "kill -" + signal);
    }

    @Test
    void tasksOfANodeWaitingForItsLoadWaitThenStartWhenInitLoadsIt() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, SCHEMA);
            MeshConfig two = mesh(c, 2);
            MeshRunner runner = c.track(new MeshRunner(two, PgCluster.testRetry()));
            runner.start();
            PgCluster.await(Duration.ofSeconds(30), "every task to wait for west's load", () ->
                    runner.tasks().stream().allMatch(t -> t.state() == TaskState.WAITING
                            && t.detail().contains("west waits for its initial load from east")));
            Thread.sleep(1000);
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_replication_slots"), "no slot was created for west");

            String said = init(two, true);
            assertTrue(said.contains("initial load east -> west done"), "west was loaded, not taken for a replica: " + said);
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.sql(0, "INSERT INTO ledger VALUES ('east', 1, 1, 'after')");
            c.sql(1, "INSERT INTO ledger VALUES ('west', 1, 1, 'after')");
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 2; n++) {
                assertEquals(30002, c.count(n, "SELECT count(*) FROM ledger"), c.name(n) + " holds every row");
            }
            assertEquals(c.dump(0, "ledger", "node, seq"), c.dump(1, "ledger", "node, seq"));
        }
    }

    @Test
    void anInterruptedLoadRunAgainNeverEmptiesTheSeed() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sql(0, SCHEMA);
            c.sql(0, "INSERT INTO ledger SELECT 'bulk', g, g, repeat('y', 400) FROM generate_series(1, 400000) g");
            MeshConfig two = mesh(c, 2);
            // The load's copying sessions are cut while they copy: init fails, west's load stays "loading".
            AtomicBoolean cutting = new AtomicBoolean(true);
            Thread cutter = new Thread(() -> {
                while (cutting.get()) {
                    try {
                        if (c.count(0, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                + " WHERE application_name LIKE '%init copy%' AND state = 'active'") > 0) {
                            return;
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        return;
                    }
                }
            }, "cutter");
            cutter.start();
            try {
                new Initializer(two, 2, 1L << 20, new PrintWriter(new StringWriter(), true), false).run();
                throw new AssertionError("init went through although its copying sessions were cut");
            } catch (java.sql.SQLException expected) {
                // the interruption
            } finally {
                cutting.set(false);
                cutter.join();
            }
            assertEquals("loading", c.queryString(1, "SELECT state FROM pgmesh.initial_load WHERE source_node = 'east'"));

            // run meanwhile: no task into or out of west may start, or the reload's emptying would travel to east.
            MeshRunner runner = c.track(new MeshRunner(two, PgCluster.testRetry()));
            runner.start();
            PgCluster.await(Duration.ofSeconds(30), "both tasks to wait for west's load", () ->
                    runner.tasks().stream().allMatch(t -> t.state() == TaskState.WAITING));
            for (Task t : runner.tasks()) {
                assertTrue(t.detail().contains("west is being loaded from east, or that load was interrupted"), t.detail());
            }

            String said = init(two, true);
            assertTrue(said.contains("removed the interrupted initial load"), said);
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 2; n++) {
                assertEquals(430000, c.count(n, "SELECT count(*) FROM ledger"), c.name(n) + " holds every row");
            }
            List<String> problems = new ArrayList<>();
            for (Task t : runner.tasks()) {
                if (t.state() != TaskState.STREAMING) {
                    problems.add(t.spec().name() + " " + t.state() + ": " + t.detail());
                }
            }
            assertEquals(List.of(), problems);
        }
    }
}
