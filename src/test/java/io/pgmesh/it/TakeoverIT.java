package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import io.pgmesh.task.MeshRunner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several {@code pgmesh run} processes for one mesh, as a user places them: each task runs in one
 * of them, the others stand by, and when the holder dies (SIGKILL) or is cut off from a target (a
 * proxy that black-holes the link), another takes the task within 30 s and applies every
 * transaction exactly once.
 *
 * <p>{@code ledger} has no key (REPLICA IDENTITY FULL): a transaction applied twice leaves a second
 * copy of its row; {@code counter} holds, per node, the last sequence number its writer committed,
 * so a lost transaction shows as a count below it.
 */
@Timeout(300)
class TakeoverIT {
    private static final Duration TAKEOVER_BOUND = Duration.ofSeconds(30);

    @AutoClose
    static PgCluster cluster;
    @TempDir
    static Path dir;
    static Path meshFile;

    private final List<PgmeshProcess> processes = new ArrayList<>();
    private final List<Writer> writers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE ledger (node text NOT NULL, seq int NOT NULL, pad text);"
                + " ALTER TABLE ledger REPLICA IDENTITY FULL;"
                + " CREATE TABLE counter (node text PRIMARY KEY, v bigint NOT NULL)");
        meshFile = cluster.writeMeshFile(dir);
        // Each node's counter row is made on that node and replicated: its updates then follow the
        // version the other node has, and no conflict is expected anywhere.
        try (MeshRunner seed = new MeshRunner(cluster.config(), PgCluster.testRetry())) {
            seed.start();
            PgCluster.awaitStreaming(seed, Duration.ofSeconds(60));
            cluster.sql(0, "INSERT INTO counter VALUES ('east', 0)");
            cluster.sql(1, "INSERT INTO counter VALUES ('west', 0)");
            cluster.awaitCaughtUp(Duration.ofSeconds(60));
        }
    }

    @AfterEach
    void stopAll() throws Exception {
        writers.forEach(Writer::stop);
        for (PgmeshProcess p : processes) {
            p.close();
        }
    }

    @Test
    void aStandbyTakesOverFromAKilledHolderAndAppliesEveryTransactionOnce() throws Exception {
        PgmeshProcess holder = start(meshFile);
        holder.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
        PgmeshProcess standby = start(meshFile);
        standby.awaitOutput("standing by", Duration.ofSeconds(30));
        String status = status();
        assertTrue(status.contains("held by ") && status.contains(":" + holder.pid()),
                "status must name the holder's host and pid\n" + status);
        assertTrue(!standby.output().contains("streaming from"), "the standby must not stream\n" + standby.tail());
        for (int node = 0; node < 2; node++) {
            assertEquals("streaming " + holder.pid(), cluster.queryString(node, "SELECT string_agg(DISTINCT state || ' '"
                    + " || split_part(process, ':', 2), ',') FROM pgmesh.task_state"),
                    "the task states on " + cluster.name(node) + " stay the holder's: a standby never writes over them");
        }

        startWriters();
        Thread.sleep(1500);
        holder.kill();
        long killed = System.nanoTime();
        standby.awaitStreaming(TAKEOVER_BOUND, "east->west", "west->east");
        double tookOver = (System.nanoTime() - killed) / 1e9;
        System.out.printf("TakeoverIT: the standby streamed both tasks %.1f s after the SIGKILL of the holder%n", tookOver);
        Thread.sleep(1500);
        stopWriters();
        standby.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));
        assertExactlyOnce(standby);
        String after = status();
        assertTrue(after.contains(":" + standby.pid()), "status must name the new holder\n" + after);
    }

    /**
     * The holder freezes (SIGSTOP) with its sessions open: its lease runs out, the standby ends
     * those sessions and takes both tasks. When the frozen process runs on, whatever it was
     * about to write fails on its ended sessions; it stands by, and nothing is applied twice.
     */
    @Test
    void aFrozenHolderIsReplacedAndStandsByWhenItRunsOn() throws Exception {
        PgmeshProcess frozen = start(meshFile);
        frozen.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
        PgmeshProcess standby = start(meshFile);
        standby.awaitOutput("standing by", Duration.ofSeconds(30));

        startWriters();
        Thread.sleep(1500);
        frozen.freeze();
        long frozenAt = System.nanoTime();
        try {
            standby.awaitStreaming(TAKEOVER_BOUND, "east->west", "west->east");
            System.out.printf("TakeoverIT: the standby streamed both tasks %.1f s after the holder froze%n",
                    (System.nanoTime() - frozenAt) / 1e9);
            Thread.sleep(1500);
        } finally {
            frozen.thaw();
        }
        frozen.awaitOutput("standing by again", s -> s.lastIndexOf("standing by") > s.lastIndexOf("streaming from"),
                Duration.ofSeconds(30));
        Thread.sleep(1500);
        stopWriters();
        standby.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));
        assertExactlyOnce(standby);
        assertTrue(frozen.isAlive(), "the thawed process stays, to stand by\n" + frozen.tail());
        String status = status();
        assertTrue(!status.contains(":" + frozen.pid() + ",") && !status.contains(":" + frozen.pid() + " "),
                "status must name only the new holder\n" + status);
    }

    @Test
    void aHolderCutOffFromItsTargetStopsAndAnotherTakesOver() throws Exception {
        try (TcpProxy westLink = new TcpProxy(cluster.server(1).port())) {
            // The same mesh, west reached through the link that will be cut: another address, same fingerprint.
            Path viaProxy = dir.resolve("mesh-via-proxy.yaml");
            Files.writeString(viaProxy, Files.readString(meshFile)
                    .replace("port: " + cluster.server(1).port(), "port: " + westLink.port()));
            PgmeshProcess cut = start(viaProxy);
            cut.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
            PgmeshProcess standby = start(meshFile);
            standby.awaitOutput("standing by", Duration.ofSeconds(30));

            startWriters();
            Thread.sleep(1500);
            westLink.blackHole(true);
            long cutAt = System.nanoTime();
            standby.awaitOutput("east->west streams in the standby", s -> s.contains("task east->west: streaming from"),
                    TAKEOVER_BOUND);
            System.out.printf("TakeoverIT: east->west streamed in the standby %.1f s after the link to west was cut%n",
                    (System.nanoTime() - cutAt) / 1e9);
            cut.awaitOutput("stopped applying", Duration.ofSeconds(5));
            Thread.sleep(1500);
            stopWriters();
            // west->east follows once its holder notices that its source is silent, or its lease runs out.
            standby.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(90)));
            westLink.blackHole(false);
            assertExactlyOnce(standby);
            assertTrue(cut.isAlive(), "the process that was cut off stays, to stand by\n" + cut.tail());
        }
    }

    @Test
    void aProcessWithTargetsTakesItsTaskFromTheStandbyForAll() throws Exception {
        PgmeshProcess all = start(meshFile);
        all.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
        PgmeshProcess west = start(meshFile, "--targets", "west");
        west.awaitStreaming(TAKEOVER_BOUND, "east->west");
        all.awaitOutput("handed over", Duration.ofSeconds(10));
        startWriters();
        Thread.sleep(1000);
        stopWriters();
        west.explainFailure(() -> cluster.awaitCaughtUp(Duration.ofSeconds(60)));
        assertExactlyOnce(west);
        String status = status();
        assertTrue(status.matches("(?s).*east->west.*held by [^\\n]*:" + west.pid() + " \\(--targets\\).*"),
                "east->west must be held by the --targets process\n" + status);
        assertTrue(status.matches("(?s).*west->east.*held by [^\\n]*:" + all.pid() + ",.*"),
                "west->east stays with the process that runs everything\n" + status);
    }

    @Test
    void aSecondProcessWithAnotherMeshFileIsRefused() throws Exception {
        PgmeshProcess first = start(meshFile);
        first.awaitStreaming(Duration.ofSeconds(60), "east->west", "west->east");
        Path other = dir.resolve("mesh-keep-local.yaml");
        Files.writeString(other, Files.readString(meshFile) + "conflicts:\n  resolution: keep-local\n");
        PgmeshProcess second = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "run", "-c", other.toString());
        assertEquals(2, second.exitCode(), second.tail());
        assertTrue(second.output().contains("different mesh file") && second.output().contains(":" + first.pid()),
                "the refusal names the other process\n" + second.tail());
    }

    private PgmeshProcess start(Path mesh, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "-c", mesh.toString()));
        args.addAll(List.of(extra));
        PgmeshProcess p = PgmeshProcess.start(dir, args.toArray(String[]::new));
        processes.add(p);
        return p;
    }

    private String status() throws Exception {
        PgmeshProcess s = PgmeshProcess.run(dir, Duration.ofSeconds(60), Map.of(), "status", "-c", meshFile.toString());
        return s.output();
    }

    private void startWriters() {
        for (int node = 0; node < 2; node++) {
            Writer w = new Writer(node);
            writers.add(w);
            Thread t = new Thread(w, "writer " + w.name);
            t.setDaemon(true);
            t.start();
        }
    }

    private void stopWriters() throws InterruptedException {
        for (Writer w : writers) {
            w.stop();
        }
        for (Writer w : writers) {
            w.awaitStopped();
            if (w.failure != null) {
                throw new AssertionError("the writer on " + w.name + " failed", w.failure);
            }
        }
    }

    /** Every committed writer transaction is on both nodes once: no copy (double apply), no gap (loss). */
    private void assertExactlyOnce(PgmeshProcess p) throws SQLException {
        for (int node = 0; node < 2; node++) {
            for (Writer w : writers) {
                String where = w.name + "'s rows on " + cluster.name(node);
                long committed = w.committed.get();
                assertTrue(committed > 0, "the writer on " + w.name + " committed nothing");
                long rows = cluster.count(node, "SELECT count(*) FROM ledger WHERE node = '" + w.name + "'");
                long distinct = cluster.count(node, "SELECT count(DISTINCT seq) FROM ledger WHERE node = '" + w.name + "'");
                assertEquals(rows, distinct, where + ": a transaction was applied twice\n" + p.tail());
                assertEquals(cluster.count(node, "SELECT v FROM counter WHERE node = '" + w.name + "'"),
                        cluster.count(node, "SELECT coalesce(max(seq), 0) FROM ledger WHERE node = '" + w.name + "'"),
                        where + ": the counter and the ledger disagree");
                assertEquals(w.base + committed, distinct, where + ": a transaction was lost\n" + p.tail());
            }
        }
        assertEquals(cluster.dump(0, "counter", "node"), cluster.dump(1, "counter", "node"));
        assertEquals("", cluster.dump(0, "pgmesh.conflicts", "id") + cluster.dump(1, "pgmesh.conflicts", "id"),
                "each row is written by one node only: a conflict means a change applied twice or out of order");
    }

    /** One node's application: a ledger row and its counter in one transaction, every 2 ms. */
    private static final class Writer implements Runnable {
        final int node;
        final String name;
        final long base;
        final AtomicLong committed = new AtomicLong();
        volatile boolean running = true;
        volatile boolean stopped;
        volatile Throwable failure;

        Writer(int node) {
            this.node = node;
            this.name = cluster.name(node);
            try {
                this.base = cluster.count(node, "SELECT v FROM counter WHERE node = '" + name + "'");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void run() {
            try (Connection c = cluster.connect(node);
                 PreparedStatement insert = c.prepareStatement("INSERT INTO ledger VALUES (?, ?, repeat('x', 100))");
                 PreparedStatement bump = c.prepareStatement("UPDATE counter SET v = ? WHERE node = ?")) {
                c.setAutoCommit(false);
                long seq = base;
                while (running) {
                    seq++;
                    insert.setString(1, name);
                    insert.setLong(2, seq);
                    insert.executeUpdate();
                    bump.setLong(1, seq);
                    bump.setString(2, name);
                    bump.executeUpdate();
                    c.commit();
                    committed.incrementAndGet();
                    LockSupport.parkNanos(2_000_000);
                }
            } catch (Throwable e) {
                failure = e;
            } finally {
                stopped = true;
            }
        }

        void stop() {
            running = false;
        }

        void awaitStopped() throws InterruptedException {
            PgCluster.await(Duration.ofSeconds(30), "writer " + name + " stops", () -> stopped);
        }
    }
}
