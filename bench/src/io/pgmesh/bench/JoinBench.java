package io.pgmesh.bench;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TableSelection;
import io.pgmesh.embedded.EmbeddedPostgres;
import io.pgmesh.setup.Initializer;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A node joining a running mesh under load, against the initial load of the same data into an
 * idle node: pgbench scale N on the seed, two old nodes replicating and each taking pgbench
 * writes at a fixed rate during the whole join; the join's {@code init}, then the catch-up of what
 * was written meanwhile once run takes the new node. Run by hand:
 * {@code BENCH_MAIN=io.pgmesh.bench.JoinBench bench/run.sh}; see docs/BENCHMARKS.md.
 * Knobs: BENCH_SCALE (20), BENCH_JOIN_RATE (150 txn/s per old node), BENCH_INIT_JOBS (2).
 */
public final class JoinBench {
    private static final String DB = "bench";
    private final int scale = env("BENCH_SCALE", 20);
    private final int rate = env("BENCH_JOIN_RATE", 150);
    private final int jobs = env("BENCH_INIT_JOBS", 2);
    private final String version = System.getenv().getOrDefault("BENCH_PG_VERSION", "17.5.0");
    private final Path runDir;
    private final Path results;
    private final List<EmbeddedPostgres> servers = new ArrayList<>();

    private JoinBench() throws Exception {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path out = Path.of("bench", "out").toAbsolutePath();
        runDir = out.resolve("join-" + stamp);
        results = out.resolve("join-" + stamp + ".md");
        Files.createDirectories(runDir);
    }

    public static void main(String[] args) throws Exception {
        JoinBench b = new JoinBench();
        try {
            b.run();
        } finally {
            b.servers.forEach(EmbeddedPostgres::close);
        }
        System.exit(0);
    }

    private NodeConfig node(String name, int server, String db) {
        return new NodeConfig(name, "127.0.0.1", servers.get(server).port(), db, "postgres", Secret.NONE, "disable");
    }

    private void run() throws Exception {
        for (int i = 0; i < 3; i++) {
            EmbeddedPostgres pg = EmbeddedPostgres.start(version, null, Map.of("fsync", "on"));
            servers.add(pg);
            pg.createDatabase(DB);
        }
        servers.get(2).createDatabase("idle");
        say("pgbench -i -s " + scale + " on east (PostgreSQL " + version + ")");
        Pgbench.run(servers.get(0), DB, runDir.resolve("pgbench-init.log"), "-i", "-s", String.valueOf(scale), "-I", "dtgvp");
        Db.exec(servers.get(0), DB, "ALTER TABLE pgbench_history REPLICA IDENTITY FULL", "VACUUM ANALYZE");
        TableSelection tables = new TableSelection(List.of("public.pgbench_*"), List.of());

        // The initial load of the same data into an idle node: what a join is measured against.
        MeshConfig idle = new MeshConfig(List.of(node("east", 0, DB), node("idle", 2, "idle")), tables, "east");
        double baseline = timed("initial load east -> idle, nobody writing", () -> init(idle));
        Db.exec(servers.get(0), DB, "SELECT pg_drop_replication_slot('pgmesh_east_idle')",
                "SELECT pg_replication_origin_drop('pgmesh_idle')");
        Db.exec(servers.get(2), "idle", "SELECT pg_drop_replication_slot('pgmesh_idle_east')");
        Db.exec(servers.get(2), "postgres", "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin");

        MeshConfig two = new MeshConfig(List.of(node("east", 0, DB), node("west", 1, DB)), tables, "east");
        init(two);
        MeshRunner old = new MeshRunner(two, RetryPolicy.defaults());
        old.start();
        List<Process> writers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            writers.add(pgbench(servers.get(i), "writes-" + i + ".log"));
        }
        Thread.sleep(5000);
        // The same load into an idle database on north's server under the same writes, with no
        // hand-off (nothing of west's is owed to it): what the join's own mechanics add is the rest.
        servers.get(2).createDatabase("busy");
        MeshConfig busy = new MeshConfig(List.of(node("east", 0, DB), node("busy", 2, "busy")), tables, "east");
        double underLoad = timed("initial load east -> busy while east and west write", () -> init(busy));
        Db.exec(servers.get(0), DB, "SELECT pg_drop_replication_slot('pgmesh_east_busy')",
                "SELECT pg_replication_origin_drop('pgmesh_busy')");
        Db.exec(servers.get(2), "busy", "SELECT pg_drop_replication_slot('pgmesh_busy_east')");
        Db.exec(servers.get(2), "postgres", "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin",
                "DROP DATABASE busy");
        MeshConfig three = new MeshConfig(List.of(node("east", 0, DB), node("west", 1, DB), node("north", 2, DB)),
                tables, "east");
        double join = timed("join of north, east and west writing " + rate + " txn/s each", () -> init(three));
        old.close();
        long t0 = System.nanoTime();
        MeshRunner all = new MeshRunner(three, RetryPolicy.defaults());
        all.start();
        String[] marks = {lsn(0), lsn(1)};
        awaitApplied(marks);
        double catchUp = (System.nanoTime() - t0) / 1e9;
        say(String.format("north caught up with what east and west wrote meanwhile in %.1f s", catchUp));
        for (Process p : writers) {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        Thread.sleep(2000);
        awaitApplied(new String[] {lsn(0), lsn(1)});
        awaitApplied(new String[] {lsn(0), lsn(1)});
        all.close();
        String[] sums = new String[3];
        long[] history = new long[3];
        for (int i = 0; i < 3; i++) {
            sums[i] = Db.str(servers.get(i), DB, "SELECT md5(string_agg(a::text, ',' ORDER BY aid)) FROM pgbench_accounts a")
                    + Db.str(servers.get(i), DB, "SELECT md5(string_agg(b::text, ',' ORDER BY bid)) FROM pgbench_branches b");
            history[i] = Db.num(servers.get(i), DB, 0, "SELECT count(*) FROM pgbench_history");
        }
        boolean same = sums[0].equals(sums[1]) && sums[0].equals(sums[2]) && history[0] == history[1]
                && history[0] == history[2];
        String text = "# Join under load, pgbench scale " + scale + ", PostgreSQL " + version + "\n\n"
                + "| step | seconds |\n|---|---:|\n"
                + String.format("| initial load into an idle node, nobody writing (the whole init) | %.1f |%n", baseline)
                + String.format("| initial load into an idle database under the same writes, no hand-off | %.1f |%n", underLoad)
                + String.format("| join: init of the new node while both old nodes write %d txn/s each | %.1f |%n", rate, join)
                + String.format("| catch-up: run takes the new node until it has applied what was written meanwhile | %.1f |%n",
                        catchUp)
                + String.format("| join + catch-up | %.1f |%n", join + catchUp)
                + "\nAfter the writers stopped: accounts and branches md5 and history counts "
                + (same ? "identical on all three nodes" : "DIFFER: " + List.of(sums) + " " + List.of(history[0],
                history[1], history[2])) + ".\n";
        Files.writeString(results, text);
        System.out.println();
        System.out.println(text);
        say("results in " + results);
        if (!same) {
            throw new IllegalStateException("the nodes differ after the join");
        }
    }

    private Process pgbench(EmbeddedPostgres pg, String log) throws Exception {
        List<String> cmd = List.of(Pgbench.BIN, "-h", pg.host(), "-p", String.valueOf(pg.port()), "-U", "postgres",
                "-c", "2", "-j", "1", "-R", String.valueOf(rate), "-T", "3600", "-n", DB);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(runDir.resolve(log).toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        return pb.start();
    }

    private void init(MeshConfig mesh) throws Exception {
        StringWriter text = new StringWriter();
        if (!new Initializer(mesh, jobs, 0, new PrintWriter(text, true), false).run()) {
            throw new IllegalStateException("init refused:\n" + text);
        }
        Files.writeString(runDir.resolve("init-" + mesh.nodes().size() + "-" + System.nanoTime() + ".log"), text.toString());
    }

    private String lsn(int server) throws Exception {
        return Db.str(servers.get(server), DB, "SELECT pg_current_wal_lsn()::text");
    }

    /** Until north's origins of east and west stand at or past the marks (or the slots confirmed them). */
    private void awaitApplied(String[] marks) throws Exception {
        String[] names = {"east", "west"};
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        for (int i = 0; i < 2; i++) {
            while (Db.num(servers.get(i), DB, 0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?"
                    + " AND confirmed_flush_lsn >= ?::pg_lsn", "pgmesh_" + names[i] + "_north", marks[i]) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("north did not catch up with " + names[i] + " in 10 minutes");
                }
                Thread.sleep(50);
            }
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    private static double timed(String what, Step step) throws Exception {
        say(what + " ...");
        long t0 = System.nanoTime();
        step.run();
        double s = (System.nanoTime() - t0) / 1e9;
        say(String.format("%s: %.1f s", what, s));
        return s;
    }

    private static void say(String line) {
        System.out.println("[join bench] " + line);
    }

    private static int env(String name, int dflt) {
        String v = System.getenv(name);
        return v == null ? dflt : Integer.parseInt(v);
    }
}
