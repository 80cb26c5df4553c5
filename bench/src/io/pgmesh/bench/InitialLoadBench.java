package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Initial load of pgbench tables into an empty database, three ways in one run on the same two
 * servers: {@code pg_dump | psql}, PostgreSQL's own subscription copy, and {@code pgmesh init}.
 * Run by hand: {@code BENCH_MAIN=io.pgmesh.bench.InitialLoadBench bench/run.sh}; see docs/BENCHMARKS.md.
 *
 * <p>The system's pg_dump and psql are PostgreSQL 15 clients, and pg_dump refuses newer servers,
 * so both servers run 15 by default (BENCH_PG_VERSION overrides it).
 */
public final class InitialLoadBench {
    private static final String SRC_DB = "bench";
    private static final List<String> TABLES = List.of("pgbench_accounts", "pgbench_branches", "pgbench_tellers",
            "pgbench_history");
    private static final String CLIENT_BIN = System.getenv().getOrDefault("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin");

    private final int scale = env("BENCH_SCALE", 20);
    private final int jobs = env("BENCH_INIT_JOBS", 2);
    private final int rounds = env("BENCH_ROUNDS", 5);
    private final int sliceMb = env("BENCH_INIT_SLICE_MB", 0);
    private final String version = System.getenv().getOrDefault("BENCH_PG_VERSION", "15.13.0");
    private final Path runDir;
    private final Path results;
    private EmbeddedPostgres src;
    private EmbeddedPostgres tgt;

    private InitialLoadBench() throws IOException {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path out = Path.of("bench", "out").toAbsolutePath();
        runDir = out.resolve("initload-" + stamp);
        results = out.resolve("initload-" + stamp + ".md");
        Files.createDirectories(runDir);
    }

    public static void main(String[] args) throws Exception {
        InitialLoadBench b = new InitialLoadBench();
        try {
            b.run();
        } finally {
            if (b.src != null) {
                b.src.close();
            }
            if (b.tgt != null) {
                b.tgt.close();
            }
        }
        System.exit(0);
    }

    private void run() throws Exception {
        Map<String, String> settings = Map.of("fsync", "on");
        src = EmbeddedPostgres.start(version, null, settings);
        tgt = EmbeddedPostgres.start(version, null, settings);
        src.createDatabase(SRC_DB);
        say("pgbench -i -s " + scale + " on the source (PostgreSQL " + version + ", fsync on)");
        Pgbench.run(src, SRC_DB, runDir.resolve("pgbench-init.log"), "-i", "-s", String.valueOf(scale), "-I", "dtgvp");
        Db.exec(src, SRC_DB, "ALTER TABLE pgbench_history REPLICA IDENTITY FULL",
                "INSERT INTO pgbench_history SELECT 1 + g % 20, 1 + g % 200, 1 + g, g % 1000, now(), NULL"
                        + " FROM generate_series(1, 100000) g",
                "VACUUM ANALYZE");
        long heapBytes = Db.num(src, SRC_DB, 0, "SELECT sum(pg_relation_size(c.oid)) FROM pg_class c"
                + " WHERE c.relname = ANY (?::text[])", "{" + String.join(",", TABLES) + "}");
        long rows = Db.num(src, SRC_DB, 0, "SELECT (SELECT count(*) FROM pgbench_accounts) + (SELECT count(*) FROM"
                + " pgbench_history) + (SELECT count(*) FROM pgbench_branches) + (SELECT count(*) FROM pgbench_tellers)");
        say(String.format("source: %,d rows, %.1f MB of heap in %s", rows, heapBytes / 1048576.0, TABLES));

        // Each method runs once per round, in a rotated order, into a freshly created database, after a
        // CHECKPOINT on both servers: the WAL of one load must not slow the next one down.
        List<String> methods = new ArrayList<>(System.getenv("BENCH_INIT_ONLY") != null ? List.of("mesh")
                : List.of("dump", "native", "mesh"));
        Map<String, List<Double>> wall = new java.util.LinkedHashMap<>();
        Map<String, List<Double>> part = new java.util.LinkedHashMap<>();
        Map<String, List<Double>> cpu = new java.util.LinkedHashMap<>();
        Db.exec(src, SRC_DB, "CREATE PUBLICATION native_pub FOR TABLE " + String.join(", ", TABLES));
        // The launcher records its class-data archive at the first command after a build; that
        // first run is not timed, as a user's first command (check, usually) would have made it.
        try (var old = Files.newDirectoryStream(launcher().getParent().resolve("target"), "pgmesh-*.jsa")) {
            for (Path p : old) {
                Files.delete(p);
            }
        }
        freshTarget("mesh");
        pgmeshInit(0);
        verify("mesh", rows);
        for (int round = 1; round <= rounds; round++) {
            for (String method : methods) {
                freshTarget(method);
                long[] before = Procs.machineTicks();
                double[] r = switch (method) {
                    case "dump" -> new double[] {timed("round " + round + ": pg_dump | psql", this::dumpRestore), Double.NaN};
                    case "native" -> nativeCopy(round);
                    default -> pgmeshInit(round);
                };
                long[] after = Procs.machineTicks();
                wall.computeIfAbsent(method, k -> new ArrayList<>()).add(r[0]);
                part.computeIfAbsent(method, k -> new ArrayList<>()).add(r[1]);
                cpu.computeIfAbsent(method, k -> new ArrayList<>()).add((after[0] - before[0]) / 100.0);
                verify(method, rows);
            }
            methods.add(methods.remove(0));
        }
        double dump = median(wall.get("dump"));
        double nativeTotal = median(wall.get("native"));
        double[] nativeParts = {median(part.get("native"))};
        double[] meshParts = {median(wall.get("mesh")), median(part.get("mesh"))};
        double mb = heapBytes / 1048576.0;
        StringBuilder md = new StringBuilder();
        md.append("| method | wall time | MB/s (source heap ").append(String.format("%.0f MB", mb))
                .append(") | machine CPU-s | notes |\n")
                .append("|---|---:|---:|---:|---|\n")
                .append(row("pg_dump \\| psql", dump, mb, median(cpu.get("dump")),
                        "text COPY, one table at a time, indexes after the rows"))
                .append(row("native subscription copy", nativeTotal, mb, median(cpu.get("native")), String.format(
                        "schema first via pg_dump --schema-only, then CREATE SUBSCRIPTION until every table"
                                + " is ready (that part %.1f s); max_sync_workers_per_subscription = 2", nativeParts[0])))
                .append(row("pgmesh init", meshParts[0], mb, median(cpu.get("mesh")), String.format(
                        "the whole command, started by ./pgmesh: check, schema, snapshot slot, --jobs %d --slice-mb %d,"
                                + " keys and indexes; the load itself %.1f s", jobs, sliceMb, meshParts[1])));
        String text = "# Initial load, pgbench scale " + scale + " (" + String.format("%,d", rows) + " rows), PostgreSQL "
                + version + "\n\nMedian of " + rounds + " round(s), order rotated each round; every run: " + wall + " s\n\n"
                + md + "\nEvery target held the source's row count and pgbench_accounts md5 after each run.\n";
        Files.writeString(results, text);
        System.out.println();
        System.out.println(text);
        say("results in " + results);
    }

    private static String row(String method, double seconds, double mb, double cpuSeconds, String notes) {
        return String.format("| %s | %.2f s | %.1f | %.1f | %s |%n", method, seconds, mb / seconds, cpuSeconds, notes);
    }

    private interface Step {
        void run() throws Exception;
    }

    private double timed(String what, Step step) throws Exception {
        say(what + " ...");
        long t0 = System.nanoTime();
        step.run();
        double s = (System.nanoTime() - t0) / 1e9;
        say(String.format("%s: %.1f s", what, s));
        return s;
    }

    private void dumpRestore() throws Exception {
        shell("pg_dump -h 127.0.0.1 -p " + src.port() + " -U postgres " + tableArgs() + " " + SRC_DB
                + " | " + CLIENT_BIN + "/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + tgt.port() + " -U postgres dump",
                runDir.resolve("dump.log"));
    }

    private double[] nativeCopy(int round) throws Exception {
        long t0 = System.nanoTime();
        timed("round " + round + ": native: schema via pg_dump --schema-only", () -> shell("pg_dump --schema-only -h 127.0.0.1 -p "
                + src.port() + " -U postgres " + tableArgs() + " " + SRC_DB + " | " + CLIENT_BIN
                + "/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + tgt.port() + " -U postgres native",
                runDir.resolve("native-schema.log")));
        double copy = timed("round " + round + ": native: subscription copy", () -> {
            Db.exec(tgt, "native", "CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=" + src.port()
                    + " dbname=" + SRC_DB + " user=postgres' PUBLICATION native_pub WITH (copy_data = true)");
            long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
            while (Db.num(tgt, "native", 0, "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") > 0
                    || Db.num(tgt, "native", 0, "SELECT count(*) FROM pg_subscription_rel") < TABLES.size()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the subscription did not finish its copy within an hour");
                }
                Thread.sleep(50);
            }
        });
        double total = (System.nanoTime() - t0) / 1e9;
        Db.exec(tgt, "native", "DROP SUBSCRIPTION native_sub");
        return new double[] {total, copy};
    }

    private double[] pgmeshInit(int round) throws Exception {
        Path mesh = runDir.resolve("mesh.yaml");
        Files.writeString(mesh, "nodes:\n"
                + "  - {name: source, host: 127.0.0.1, port: " + src.port() + ", database: " + SRC_DB + ", user: postgres, sslmode: disable}\n"
                + "  - {name: target, host: 127.0.0.1, port: " + tgt.port() + ", database: mesh, user: postgres, sslmode: disable}\n"
                + "tables:\n  include: [\"public.pgbench_*\"]\n"
                + "initial-load:\n  from: source\n");
        Path log = runDir.resolve(round == 0 ? "pgmesh-init-warm-up.log" : "pgmesh-init-" + round + ".log");
        double wall = timed((round == 0 ? "warm-up" : "round " + round) + ": pgmesh init --jobs " + jobs, () -> {
            // As a user runs it: through the launcher, which picks the JVM options of the command.
            List<String> cmd = List.of("/usr/bin/time", "-f", "pgmesh cpu user %U s system %S s",
                    launcher().toString(), "init", "-c", mesh.toString(), "--jobs", String.valueOf(jobs),
                    "--slice-mb", String.valueOf(sliceMb));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            // BENCH_INIT_JVM_OPTS: more JVM options for the pgmesh process, e.g. a JFR recording.
            pb.environment().put("PGMESH_JAVA_OPTS", System.getenv().getOrDefault("BENCH_INIT_JVM_OPTS", ""));
            Process p = pb.start();
            if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
                throw new IllegalStateException("pgmesh init failed:\n" + Files.readString(log));
            }
        });
        String out = Files.readString(log);
        var m = java.util.regex.Pattern.compile("initial load source -> target done: .* in ([0-9.]+) s").matcher(out);
        double load = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        return new double[] {wall, load};
    }

    /** The ./pgmesh launcher of the checkout the benchmarked jar was built in. */
    private static Path launcher() {
        return Path.of(System.getProperty("bench.jar")).toAbsolutePath().getParent().getParent().resolve("pgmesh");
    }

    /** An empty target database for {@code db}, nothing of an earlier run left on either server, then a checkpoint. */
    private void freshTarget(String db) throws Exception {
        for (EmbeddedPostgres pg : List.of(src, tgt)) {
            Db.exec(pg, "postgres", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    + " WHERE slot_name LIKE 'pgmesh%'");
        }
        Db.exec(src, SRC_DB, "DROP SCHEMA IF EXISTS pgmesh CASCADE", "DROP PUBLICATION IF EXISTS pgmesh",
                "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin");
        Db.exec(tgt, "postgres", "DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db,
                "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin");
        Db.exec(src, "postgres", "CHECKPOINT");
        Db.exec(tgt, "postgres", "CHECKPOINT");
    }

    private void verify(String db, long rows) throws Exception {
        long n = Db.num(tgt, db, 0, "SELECT (SELECT count(*) FROM pgbench_accounts) + (SELECT count(*) FROM"
                + " pgbench_history) + (SELECT count(*) FROM pgbench_branches) + (SELECT count(*) FROM pgbench_tellers)");
        if (n != rows) {
            throw new IllegalStateException("target database " + db + " holds " + n + " rows, the source " + rows);
        }
        String srcSum = Db.str(src, SRC_DB, "SELECT md5(string_agg(a::text, ',' ORDER BY aid)) FROM pgbench_accounts a");
        String tgtSum = Db.str(tgt, db, "SELECT md5(string_agg(a::text, ',' ORDER BY aid)) FROM pgbench_accounts a");
        if (!srcSum.equals(tgtSum)) {
            throw new IllegalStateException("pgbench_accounts differs in target database " + db);
        }
    }

    private static double median(List<Double> values) {
        if (values == null || values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> sorted = new ArrayList<>(values);
        java.util.Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String tableArgs() {
        List<String> args = new ArrayList<>();
        for (String t : TABLES) {
            args.add("-t " + t);
        }
        return String.join(" ", args);
    }

    private static void shell(String pipeline, Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-o", "pipefail", "-c",
                pipeline.startsWith("pg_dump") ? CLIENT_BIN + "/" + pipeline : pipeline)
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        Process p = pb.start();
        if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
            throw new IllegalStateException("failed: " + pipeline + "\n" + Files.readString(log));
        }
    }

    private static void say(String s) {
        System.out.println("[" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")) + "] " + s);
        System.out.flush();
    }

    private static int env(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }
}
