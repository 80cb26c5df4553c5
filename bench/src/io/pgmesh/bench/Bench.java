package io.pgmesh.bench;

import io.pgmesh.bench.Replicator.Mesh;
import io.pgmesh.bench.Replicator.Native;
import io.pgmesh.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * pgmesh against PostgreSQL's own logical replication, same source, same target server, same run.
 * Run by hand through {@code bench/run.sh}; see docs/BENCHMARKS.md for what each number means.
 *
 * <p>Two servers: the source (database {@code bench}) and the target (databases {@code native},
 * fed by a subscription, and {@code mesh}, fed by pgmesh). Only one of the two appliers runs while
 * one of them is measured; the other catches up afterwards, unmeasured.
 */
public final class Bench {
    static final String SRC_DB = "bench";
    static final String MESH_DB = "mesh";
    static final String NATIVE_DB = "native";
    static final List<String> TABLES = List.of("pgbench_accounts", "pgbench_branches", "pgbench_tellers",
            "pgbench_history", "big", "lat", "bench_mark");
    static final Set<String> SCENARIOS = new LinkedHashSet<>(List.of("ceiling", "live", "big", "latency"));
    static final Map<String, String> SERVER_SETTINGS = Map.of("fsync", "on");

    /** What the environment asks for; every knob has a default that is the documented full run. */
    record Cfg(int seconds, int latSeconds, int latRate, int clients, int jobs, int scale, long bigRows,
               String pgVersion, String xmx, Set<String> only, boolean adopt, boolean profile, int timeoutSeconds,
               int linkMs, String placement) {
        static Cfg fromEnv() {
            int seconds = env("BENCH_SECONDS", 30);
            Set<String> only = new LinkedHashSet<>();
            for (String s : System.getenv().getOrDefault("BENCH_ONLY", String.join(",", SCENARIOS)).split(",")) {
                String t = s.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty()) {
                    if (!SCENARIOS.contains(t)) {
                        throw new IllegalArgumentException("BENCH_ONLY: unknown scenario " + t + ", expected some of " + SCENARIOS);
                    }
                    only.add(t);
                }
            }
            String rows = System.getenv().getOrDefault("BENCH_TARGET_ROWS", "adopted");
            if (!rows.equals("adopted") && !rows.equals("local")) {
                throw new IllegalArgumentException("BENCH_TARGET_ROWS: expected adopted or local, got " + rows);
            }
            return new Cfg(seconds, env("BENCH_LAT_SECONDS", seconds), env("BENCH_LAT_RATE", 200),
                    env("BENCH_CLIENTS", 4), env("BENCH_JOBS", 2), env("BENCH_SCALE", 10),
                    env("BENCH_BIG_ROWS", 1_000_000), System.getenv().getOrDefault("BENCH_PG_VERSION", "17.5.0"),
                    System.getenv().getOrDefault("BENCH_XMX", "256m"), only, rows.equals("adopted"),
                    env("BENCH_PROFILE", 1) != 0, env("BENCH_TIMEOUT", 1800), env("BENCH_LINK_MS", 0),
                    placementFromEnv());
        }

        /** {@code BENCH_PLACEMENT}: the side of the link pgmesh runs on (the subscription is always the target's). */
        private static String placementFromEnv() {
            String p = System.getenv().getOrDefault("BENCH_PLACEMENT", "target");
            if (!p.equals("target") && !p.equals("source")) {
                throw new IllegalArgumentException("BENCH_PLACEMENT: expected target or source, got " + p);
            }
            return p;
        }

        private static int env(String name, int dflt) {
            String v = System.getenv(name);
            return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
        }
    }

    /** One wait for a target to reach a source LSN: when it started, first moved, and arrived (nanoTime). */
    record Drain(long t0, long firstMove, long done, String from, String to) {
        double seconds() {
            return (done - t0) / 1e9;
        }

        double firstMoveSeconds() {
            return firstMove < 0 ? Double.NaN : (firstMove - t0) / 1e9;
        }

        double afterFirstMove() {
            return firstMove < 0 ? Double.NaN : (done - firstMove) / 1e9;
        }
    }

    /** A source position taken after a load, and the marker row committed right after it. */
    record Mark(String lsn, long id) {
    }

    /** CPU seconds used by the parts of one replicator, and how busy the machine was, over one drain. */
    record Cpu(double walsender, double applyBackend, double applyBackendSys, double jvm, double machineBusy,
               String foreign) {
        String describe() {
            return "source walsender " + f2(walsender) + " CPU-s, target apply backend " + f2(applyBackend) + " CPU-s ("
                    + f2(applyBackendSys) + " of it system time)"
                    + (Double.isNaN(jvm) ? "" : ", pgmesh JVM " + f2(jvm) + " CPU-s")
                    + ", machine " + pct(machineBusy) + " busy (of 2 cores); " + foreign;
        }
    }

    private final Cfg cfg;
    private final Path root;
    private final Path runDir;
    private final Path resultsFile;
    private final String stamp;
    private final StringBuilder details = new StringBuilder();
    private final StringBuilder profiles = new StringBuilder();
    private final List<String[]> table = new ArrayList<>();
    private final Map<String, Double> num = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();
    private volatile EmbeddedPostgres src;
    private volatile EmbeddedPostgres tgt;
    private Native nat;
    private Mesh mesh;
    /** The WAN link's two ends (BENCH_LINK_MS), null without one. */
    private DelayProxy toSource;
    private DelayProxy toTarget;
    private long markSeq;
    private Map<String, Double> threadCpu = Map.of();
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);

    private Bench(Cfg cfg) throws IOException {
        this.cfg = cfg;
        this.root = Path.of("").toAbsolutePath();
        this.stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path out = root.resolve("bench").resolve("out");
        this.runDir = out.resolve("run-" + stamp);
        this.resultsFile = out.resolve("results-" + stamp + ".md");
        Files.createDirectories(runDir);
    }

    public static void main(String[] args) throws Exception {
        Bench b = new Bench(Cfg.fromEnv());
        Runtime.getRuntime().addShutdownHook(new Thread(b::close, "bench cleanup"));
        int code = 0;
        try {
            b.run();
        } catch (Throwable t) {
            code = 1;
            System.err.println("\nbenchmark FAILED: " + t);
            t.printStackTrace();
            b.warnings.add("the run failed: " + t);
            try {
                b.writeResults(true);
            } catch (Exception e) {
                System.err.println("could not write partial results: " + e);
            }
        } finally {
            b.close();
        }
        System.exit(code);
    }

    // ----------------------------------------------------------------------------------------------

    private void run() throws Exception {
        say("benchmark " + stamp + ": scenarios " + cfg.only + ", load " + cfg.seconds + " s, latency " + cfg.latSeconds
                + " s at " + cfg.latRate + " txn/s, big txn " + cfg.bigRows + " rows, pgbench -s " + cfg.scale
                + ", target rows " + (cfg.adopt ? "adopted" : "local") + "; logs in " + root.relativize(runDir));
        setup();
        if (cfg.only.contains("ceiling")) {
            ceiling();
        }
        if (cfg.only.contains("live")) {
            live();
        }
        if (cfg.only.contains("big")) {
            big();
        }
        if (cfg.only.contains("latency")) {
            latency();
        }
        finalCheck();
        writeResults(false);
    }

    // ----------------------------------------------------------------------------------------------
    // Set-up

    private void setup() throws Exception {
        say("starting PostgreSQL " + cfg.pgVersion + " x2 (source, target) with " + SERVER_SETTINGS);
        src = EmbeddedPostgres.start(cfg.pgVersion, null, SERVER_SETTINGS);
        tgt = EmbeddedPostgres.start(cfg.pgVersion, null, SERVER_SETTINGS);
        src.createDatabase(SRC_DB);
        tgt.createDatabase(MESH_DB);
        tgt.createDatabase(NATIVE_DB);

        say("pgbench -i -s " + cfg.scale + " in source/" + SRC_DB + ", target/" + NATIVE_DB + ", target/" + MESH_DB);
        String scale = String.valueOf(cfg.scale);
        Pgbench.run(src, SRC_DB, runDir.resolve("pgbench-init-source.log"), "-i", "-s", scale, "-I", "dtGvp");
        Pgbench.run(tgt, NATIVE_DB, runDir.resolve("pgbench-init-native.log"), "-i", "-s", scale, "-I", "dtGvp");
        if (cfg.adopt) {
            // Same rows, written under pgmesh's origin: as if they had arrived through pgmesh (see docs).
            Pgbench.run(tgt, MESH_DB, runDir.resolve("pgbench-init-mesh-dt.log"), "-i", "-s", scale, "-I", "dt");
            generateUnderOrigin();
            Pgbench.run(tgt, MESH_DB, runDir.resolve("pgbench-init-mesh-vp.log"), "-i", "-s", scale, "-I", "vp");
        } else {
            Pgbench.run(tgt, MESH_DB, runDir.resolve("pgbench-init-mesh.log"), "-i", "-s", scale, "-I", "dtGvp");
        }

        String[] schema = {
            "ALTER TABLE pgbench_history REPLICA IDENTITY FULL",
            "CREATE TABLE big (id bigint PRIMARY KEY, payload text)",
            "CREATE TABLE lat (id bigserial PRIMARY KEY, created_at timestamptz DEFAULT clock_timestamp(), applied_at timestamptz)",
            "CREATE TABLE bench_mark (id bigserial PRIMARY KEY, tag text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
        };
        String[] trigger = {
            "CREATE FUNCTION lat_applied() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END$$",
            "CREATE TRIGGER lat_applied BEFORE INSERT ON lat FOR EACH ROW EXECUTE FUNCTION lat_applied()",
            "ALTER TABLE lat ENABLE ALWAYS TRIGGER lat_applied",
        };
        Db.exec(src, SRC_DB, schema);
        for (String db : List.of(NATIVE_DB, MESH_DB)) {
            Db.exec(tgt, db, schema);
            Db.exec(tgt, db, trigger);
        }
        Db.exec(src, SRC_DB, "CREATE PUBLICATION native_pub FOR TABLE " + String.join(", ", TABLES));
        // A WAN link (BENCH_LINK_MS each way) between the source's side and the target's: the
        // subscription runs on the target, so its stream crosses it; pgmesh runs on the side
        // BENCH_PLACEMENT names, and reaches the other side across it.
        int sourcePort = src.port();
        int targetPort = tgt.port();
        if (cfg.linkMs() > 0) {
            toSource = new DelayProxy(src.port(), cfg.linkMs());
            toTarget = new DelayProxy(tgt.port(), cfg.linkMs());
            if (cfg.placement().equals("target")) {
                sourcePort = toSource.port();
            } else {
                targetPort = toTarget.port();
            }
            say("link: " + cfg.linkMs() + " ms each way (round trip " + 2 * cfg.linkMs() + " ms); pgmesh next to the "
                    + cfg.placement() + "; the subscription next to the target");
        }
        Db.exec(tgt, NATIVE_DB, "CREATE SUBSCRIPTION " + Native.SUBSCRIPTION + " CONNECTION 'host=127.0.0.1 port="
                + (toSource != null ? toSource.port() : src.port()) + " dbname=" + SRC_DB + " user=postgres' PUBLICATION native_pub"
                + " WITH (copy_data = false, enabled = false)");
        nat = new Native(src, SRC_DB, tgt, NATIVE_DB);
        mesh = new Mesh(src, SRC_DB, tgt, MESH_DB, jar(), runDir, cfg.xmx, sourcePort, targetPort);

        say("first pgmesh start: creates its slot " + mesh.slot + ", then SIGTERM");
        mesh.start("create-slot");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (Db.num(src, SRC_DB, 0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?", mesh.slot) == 0
                || Db.num(tgt, MESH_DB, 0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?",
                        "pgmesh_" + Mesh.TARGET_NODE + "_" + Mesh.SOURCE_NODE) == 0) {
            mesh.checkAlive();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pgmesh created no slot within 120 s:\n" + mesh.tail(30));
            }
            Thread.sleep(100);
        }
        Thread.sleep(1000); // let both tasks reach streaming before stopping
        mesh.stop();

        Set<String> nativePub = pubTables("native_pub");
        Set<String> meshPub = pubTables("pgmesh");
        if (!nativePub.equals(meshPub)) {
            throw new IllegalStateException("publications differ: native_pub " + nativePub + ", pgmesh " + meshPub);
        }
        String origin = Db.str(tgt, MESH_DB, "SELECT coalesce(o.roname, 'local (no origin)') FROM"
                + " (SELECT (pg_xact_commit_timestamp_origin(xmin)).roident AS id FROM pgbench_accounts LIMIT 1) r"
                + " LEFT JOIN pg_replication_origin o ON o.roident = r.id");
        String progress;
        try (Connection c = Db.open(tgt, MESH_DB)) {
            progress = mesh.progress(c);
        }
        details.append("## Set-up\n\n")
                .append(cfg.linkMs() > 0 ? "- Link: " + cfg.linkMs() + " ms each way through a delaying TCP proxy"
                        + " (DelayProxy); pgmesh next to the " + cfg.placement() + ", the subscription next to the target.\n" : "")
                .append("- Source: PostgreSQL ").append(cfg.pgVersion).append(" on 127.0.0.1:").append(src.port())
                .append(", database `").append(SRC_DB).append("`. Target: PostgreSQL ").append(cfg.pgVersion)
                .append(" on 127.0.0.1:").append(tgt.port()).append(", databases `").append(NATIVE_DB)
                .append("` (subscription `native_sub`) and `").append(MESH_DB).append("` (pgmesh node `target`).\n")
                .append("- Replicated tables (identical in `native_pub` and pgmesh's publication): ")
                .append(String.join(", ", meshPub)).append(".\n")
                .append("- pgbench rows on the pgmesh target were last written by: ").append(origin)
                .append(cfg.adopt ? " (BENCH_TARGET_ROWS=adopted)" : " (BENCH_TARGET_ROWS=local)").append(".\n")
                .append("- pgmesh origin progress after the slot-creating start: ").append(progress).append(".\n");
        checkConsistent("after set-up", List.of("pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"));
    }

    /** pgbench's server-side data generation ("G"), in the mesh database under pgmesh's origin for the source. */
    private void generateUnderOrigin() throws SQLException {
        String origin = "pgmesh_" + Mesh.SOURCE_NODE;
        try (Connection c = Db.open(tgt, MESH_DB)) {
            if (Db.str(c, "SELECT pg_replication_origin_oid(?)", origin) == null) {
                Db.str(c, "SELECT pg_replication_origin_create(?)", origin);
            }
            Db.str(c, "SELECT pg_replication_origin_session_setup(?)", origin);
            c.setAutoCommit(false);
            Db.exec(c, "TRUNCATE pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers");
            Db.exec(c, "INSERT INTO pgbench_branches(bid, bbalance) SELECT bid, 0 FROM generate_series(1, "
                    + cfg.scale + ") AS bid");
            Db.exec(c, "INSERT INTO pgbench_tellers(tid, bid, tbalance) SELECT tid, (tid - 1) / 10 + 1, 0"
                    + " FROM generate_series(1, " + 10 * cfg.scale + ") AS tid");
            Db.exec(c, "INSERT INTO pgbench_accounts(aid, bid, abalance, filler) SELECT aid, (aid - 1) / 100000 + 1, 0, ''"
                    + " FROM generate_series(1, " + 100000L * cfg.scale + ") AS aid");
            c.commit();
            c.setAutoCommit(true);
            Db.str(c, "SELECT pg_replication_origin_session_reset()::text");
        }
    }

    private Set<String> pubTables(String pub) throws SQLException {
        Set<String> t = new java.util.TreeSet<>();
        try (Connection c = Db.open(src, SRC_DB);
             PreparedStatement ps = c.prepareStatement("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?")) {
            ps.setString(1, pub);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    t.add(rs.getString(1));
                }
            }
        }
        return t;
    }

    // ----------------------------------------------------------------------------------------------
    // 1. Apply ceiling

    private void ceiling() throws Exception {
        section("1. apply ceiling");
        prepareLoad();
        say("pgbench TPC-B on the source, replication stopped: -c " + cfg.clients + " -j " + cfg.jobs + " -T " + cfg.seconds);
        Pgbench.Result pb = pgbench("ceiling", "-c", String.valueOf(cfg.clients), "-j", String.valueOf(cfg.jobs),
                "-T", String.valueOf(cfg.seconds));
        Mark mark = mark("ceiling");
        long n = pb.transactions();
        long walBytes = Db.num(src, SRC_DB, 0, "SELECT pg_wal_lsn_diff(?::pg_lsn, confirmed_flush_lsn)::bigint"
                + " FROM pg_replication_slots WHERE slot_name = ?", mark.lsn(), nat.slot);
        say(n + " transactions (" + f1(pb.tps()) + " tps without replication), " + mb(walBytes) + " of WAL to apply");

        say("native: ALTER SUBSCRIPTION ENABLE, drain");
        Object[] nr = measuredDrain(nat, mark);
        Drain nd = (Drain) nr[0];
        Cpu ncpu = (Cpu) nr[1];
        say("native drained in " + f2(nd.seconds()) + " s (" + f0(n / nd.seconds()) + " txn/s)");

        long c0 = meshConflicts();
        say("pgmesh: start the process, drain");
        Object[] mr = measuredDrain(mesh, mark);
        Drain md = (Drain) mr[0];
        Cpu mcpu = (Cpu) mr[1];
        long conflicts = meshConflicts() - c0;
        say("pgmesh drained in " + f2(md.seconds()) + " s from process start (" + f0(n / md.seconds()) + " txn/s), "
                + f2(md.afterFirstMove()) + " s from its first applied transaction (" + f0(n / md.afterFirstMove())
                + " txn/s); " + conflicts + " conflicts logged");

        double nTps = n / nd.seconds();
        double mStart = n / md.seconds();
        double mFirst = n / md.afterFirstMove();
        double nFirst = n / nd.afterFirstMove();
        num.put("ceiling.native", nTps);
        num.put("ceiling.pgmesh.start", mStart);
        num.put("ceiling.pgmesh.first", mFirst);
        row("1", "Apply ceiling, txn/s (" + n + " TPC-B txns queued; from ENABLE / from process start incl. JVM start)",
                f0(nTps), f0(mStart), ratio(mStart, nTps), ">= 0.5x native", verdict(mStart / nTps >= 0.5));
        row("1", "Apply ceiling, txn/s, from the first applied transaction (origin progress first moves)",
                f0(nFirst), f0(mFirst), ratio(mFirst, nFirst), ">= 0.5x native", verdict(mFirst / nFirst >= 0.5));

        details.append("\n## 1. Apply ceiling\n\n")
                .append("- Load: `pgbench -n -c ").append(cfg.clients).append(" -j ").append(cfg.jobs).append(" -T ")
                .append(cfg.seconds).append("` (built-in TPC-B) on the source with replication stopped: ").append(n)
                .append(" transactions, ").append(f1(pb.tps())).append(" tps; ").append(mb(walBytes))
                .append(" of WAL from the slots' position to the end of the load.\n")
                .append("- native: ENABLE -> first applied commit ").append(f3(nd.firstMoveSeconds())).append(" s, -> all applied ")
                .append(f2(nd.seconds())).append(" s. ").append(ncpu.describe()).append(".\n")
                .append("- pgmesh: process start -> first applied commit ").append(f3(md.firstMoveSeconds()))
                .append(" s (JVM start, connect, publication check, stream start), -> all applied ").append(f2(md.seconds()))
                .append(" s; ").append(f2(md.afterFirstMove())).append(" s from the first applied commit. ")
                .append(mcpu.describe()).append(". Conflicts logged by pgmesh: ").append(conflicts).append(".\n")
                .append("- CPU per transaction: native ").append(us((ncpu.walsender + ncpu.applyBackend) / n))
                .append(" (walsender + apply worker); pgmesh ").append(us((mcpu.walsender + mcpu.applyBackend + mcpu.jvm) / n))
                .append(" (walsender + apply backend + JVM), of which JVM ").append(us(mcpu.jvm / n)).append(".\n")
                .append("- pgmesh JVM CPU by thread and user/system time over the drain (incl. JVM start; /proc/<pid>/task): ")
                .append(threadCpuText()).append(".\n");
        checkConsistent("after the apply ceiling", TABLES.stream().filter(t -> !t.equals("bench_mark")).toList());
    }

    /** Starts {@code r} with everything stopped, times it until its origin reaches {@code mark}, stops it. */
    private Object[] measuredDrain(Replicator r, Mark mark) throws Exception {
        checkpointAll();
        String initial;
        try (Connection tc = Db.open(tgt, r.targetDb)) {
            initial = r.progress(tc);
        }
        long[] m0 = Procs.machineTicks();
        Map<Long, Double> f0 = foreign();
        long t0;
        if (r instanceof Mesh m) {
            m.start("ceiling");
            t0 = m.startedNanos();
        } else {
            t0 = System.nanoTime();
            r.start();
        }
        Drain d = await(r, mark, false, t0, initial, 10);
        long[] m1 = Procs.machineTicks();
        Cpu cpu = cpu(r, m0, m1, foreignText(f0, foreign()));
        if (r instanceof Mesh m) {
            threadCpu = Procs.threadCpu(m.pid());
        }
        r.stop();
        return new Object[] {d, cpu};
    }

    /** This JVM (and so pgbench, pgmesh, jstat), the two postmasters (and so every backend), kernel threads. */
    private Set<Long> ourRoots() {
        Set<Long> roots = new java.util.HashSet<>();
        roots.add(ProcessHandle.current().pid());
        roots.add(2L); // kernel threads (kthreadd's children): loopback and disk work is largely ours
        for (EmbeddedPostgres pg : new EmbeddedPostgres[] {src, tgt}) {
            try {
                roots.add(Long.parseLong(Files.readAllLines(pg.dataDir().resolve("postmaster.pid")).get(0).trim()));
            } catch (IOException | RuntimeException e) {
                // not running
            }
        }
        return roots;
    }

    private Map<Long, Double> foreign() {
        return Procs.foreignCpu(ourRoots());
    }

    private String foreignText(Map<Long, Double> a, Map<Long, Double> b) {
        double d = Procs.foreignDelta(a, b);
        if (d >= 0.5) {
            warnings.add("processes outside the benchmark used " + f1(d) + " CPU-s during a measurement (see details)");
        }
        StringBuilder top = new StringBuilder();
        if (d >= 0.1) {
            b.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), e.getValue() - a.getOrDefault(e.getKey(), 0.0)))
                    .filter(e -> e.getValue() >= 0.05)
                    .sorted((x, y) -> Double.compare(y.getValue(), x.getValue())).limit(3)
                    .forEach(e -> top.append(top.length() == 0 ? " (" : ", ").append(comm(e.getKey())).append(' ')
                            .append(f2(e.getValue())));
            if (top.length() > 0) {
                top.append(')');
            }
        }
        return "processes outside the benchmark used " + f2(d) + " CPU-s meanwhile" + top;
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", String.valueOf(pid), "comm")).trim();
        } catch (IOException e) {
            return "pid " + pid;
        }
    }

    private String threadCpuText() {
        double total = threadCpu.values().stream().mapToDouble(Double::doubleValue).sum();
        StringBuilder sb = new StringBuilder();
        threadCpu.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue(), a.getValue())).limit(10)
                .forEach(e -> sb.append(sb.length() == 0 ? "" : ", ").append('`').append(e.getKey()).append("` ")
                        .append(f2(e.getValue())).append(" s"));
        return sb + " (all threads " + f2(total) + " s)";
    }

    private Cpu cpu(Replicator r, long[] m0, long[] m1, String foreign) throws SQLException {
        long ws;
        long ap;
        try (Connection sc = Db.open(src, SRC_DB); Connection tc = Db.open(tgt, r.targetDb)) {
            ws = r.walsenderPid(sc);
            ap = r.applyPid(tc);
        }
        double jvm = r instanceof Mesh m ? Procs.cpuSeconds(m.pid()) : Double.NaN;
        double[] apSplit = Procs.cpuSplit(ap);
        return new Cpu(Procs.cpuSeconds(ws), apSplit[0] + apSplit[1], apSplit[1], jvm, Procs.busy(m0, m1), foreign);
    }

    // ----------------------------------------------------------------------------------------------
    // 2. Live

    private void live() throws Exception {
        section("2. live load");
        details.append("\n## 2. Live load\n\n");
        for (Replicator r : List.of(nat, mesh)) {
            startFor(r, "live");
            Drain pre = sync(r, "live-pre", cfg.profile && r == mesh);
            say(r.label + " running and caught up (backlog applied in " + f2(pre.seconds()) + " s)");
            prepareLoad();
            long c0 = r == mesh ? meshConflicts() : 0;
            say("pgbench TPC-B with " + r.label + " replicating: -c " + cfg.clients + " -j " + cfg.jobs + " -T " + cfg.seconds);
            long[] m0 = Procs.machineTicks();
            Map<Long, Double> f0 = foreign();
            Pgbench.Result pb = pgbench("live-" + r.label, "-c", String.valueOf(cfg.clients), "-j",
                    String.valueOf(cfg.jobs), "-T", String.valueOf(cfg.seconds));
            long loadEnd = System.nanoTime();
            String progressAtEnd;
            try (Connection tc = Db.open(tgt, r.targetDb)) {
                progressAtEnd = r.progress(tc);
            }
            long[] m1 = Procs.machineTicks();
            Mark mark = mark("live-" + r.label);
            long backlog = Db.num(src, SRC_DB, 0, "SELECT pg_wal_lsn_diff(?::pg_lsn, ?::pg_lsn)::bigint", mark.lsn(),
                    progressAtEnd);
            Drain d = await(r, mark, false, loadEnd, progressAtEnd, 10);
            String foreignLive = foreignText(f0, foreign());
            long conflicts = r == mesh ? meshConflicts() - c0 : 0;
            say(r.label + ": source " + f1(pb.tps()) + " tps; " + pb.transactions() + " txns; behind by " + mb(backlog)
                    + " at load end; caught up " + f3(d.seconds()) + " s after the load stopped");
            num.put("live.tps." + r.label, pb.tps());
            num.put("live.catchup." + r.label, d.seconds());
            num.put("live.txns." + r.label, (double) pb.transactions());
            details.append("- ").append(r.label).append(": ").append(pb.transactions()).append(" txns, source ")
                    .append(f1(pb.tps())).append(" tps (latency avg ").append(f2(pb.latencyMs())).append(" ms), machine ")
                    .append(pct(Procs.busy(m0, m1))).append(" busy during the load; target behind by ").append(mb(backlog))
                    .append(" of WAL when the load stopped; everything applied ").append(f3(d.seconds()))
                    .append(" s after the load stopped")
                    .append(r == mesh ? "; conflicts logged: " + conflicts : "").append("; ").append(foreignLive).append(".\n");
            r.stop();
        }
        double nt = num.get("live.tps.native");
        double mt = num.get("live.tps.pgmesh");
        double nc = num.get("live.catchup.native");
        double mc = num.get("live.catchup.pgmesh");
        row("2", "Live: source tps during " + cfg.seconds + " s of TPC-B with replication running", f1(nt), f1(mt),
                ratio(mt, nt), "-", "-");
        row("2", "Live: catch-up after the load stops, s", f3(nc), f3(mc), ratio(mc, nc), "< 1 s", verdict(mc < 1.0));
    }

    // ----------------------------------------------------------------------------------------------
    // 3. One big transaction

    private void big() throws Exception {
        section("3. one " + cfg.bigRows + "-row transaction");
        details.append("\n## 3. One ").append(cfg.bigRows).append("-row INSERT transaction\n\n");
        for (Replicator r : List.of(nat, mesh)) {
            Procs.HeapSampler heap = null;
            try {
                startFor(r, "big");
                if (r == mesh) {
                    heap = heapSampler(mesh.pid());
                }
                Drain pre = sync(r, "big-pre", cfg.profile && r == nat);
                say(r.label + " running and caught up (backlog applied in " + f2(pre.seconds()) + " s)");
                Db.exec(src, SRC_DB, "TRUNCATE big");
                sync(r, "big-truncate", false);
                checkpointAll();
                Map<Long, Double> f0 = foreign();
                long t0;
                long tCommit;
                long commitEpochMs;
                long walBytes;
                try (Connection c = Db.open(src, SRC_DB)) {
                    String before = Db.str(c, "SELECT pg_current_wal_lsn()::text");
                    t0 = System.nanoTime();
                    Db.exec(c, "INSERT INTO big SELECT g, rpad(g::text || ':', 50, 'x') FROM generate_series(1, "
                            + cfg.bigRows + ") g");
                    tCommit = System.nanoTime();
                    commitEpochMs = System.currentTimeMillis();
                    walBytes = Db.num(c, 0, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ?::pg_lsn)::bigint", before);
                }
                say(r.label + ": INSERT of " + cfg.bigRows + " rows committed on the source after " + f2((tCommit - t0) / 1e9)
                        + " s (" + mb(walBytes) + " of WAL); waiting until visible on the target");
                long tVisible;
                long visibleEpochMs;
                Map<String, Integer> waits = new TreeMap<>();
                int waitSamples = 0;
                double[] cpuBefore;
                long bigApplyPid;
                double applyStartEpochMs = Double.NaN; // xact_start of the target's apply transaction
                long deadline = tCommit + TimeUnit.SECONDS.toNanos(cfg.timeoutSeconds);
                try (Connection tc = Db.open(tgt, r.targetDb);
                     PreparedStatement ps = tc.prepareStatement("SELECT EXISTS (SELECT 1 FROM big WHERE id = ?), a.xs, a.w"
                             + " FROM (SELECT 1) one LEFT JOIN (SELECT extract(epoch FROM xact_start) * 1000 AS xs,"
                             + " coalesce(state, '-') || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU') AS w"
                             + " FROM pg_stat_activity WHERE pid = ?) a ON true")) {
                    ps.setLong(1, cfg.bigRows);
                    long applyPid = r.applyPid(tc);
                    ps.setLong(2, applyPid);
                    cpuBefore = Procs.cpuSplit(applyPid);
                    bigApplyPid = applyPid;
                    while (true) {
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            if (rs.getBoolean(1)) {
                                tVisible = System.nanoTime();
                                visibleEpochMs = System.currentTimeMillis();
                                break;
                            }
                            double xs = rs.getDouble(2);
                            if (!rs.wasNull() && xs >= commitEpochMs - 5) {
                                applyStartEpochMs = xs;
                                waits.merge(rs.getString(3), 1, Integer::sum);
                                waitSamples++;
                            }
                        }
                        r.checkAlive();
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException(r.label + ": big transaction not visible after " + cfg.timeoutSeconds + " s");
                        }
                        Thread.sleep(20);
                    }
                    long count = Db.num(tc, -1, "SELECT count(*) FROM big");
                    if (count != cfg.bigRows) {
                        throw new IllegalStateException(r.label + ": " + count + " rows in big on the target, expected " + cfg.bigRows);
                    }
                }
                String foreignBig = foreignText(f0, foreign());
                double[] cpuAfter = Procs.cpuSplit(bigApplyPid);
                StringBuilder waitText = new StringBuilder();
                final int ws = waitSamples;
                waits.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(6)
                        .forEach(e -> waitText.append(waitText.length() == 0 ? "" : ", ").append(pct(e.getValue() / (double) ws))
                                .append(" `").append(e.getKey()).append('`'));
                double secs = (tVisible - tCommit) / 1e9;
                num.put("big." + r.label, secs);
                double toApply = (applyStartEpochMs - commitEpochMs) / 1000.0;
                double applying = (visibleEpochMs - applyStartEpochMs) / 1000.0;
                num.put("big.toapply." + r.label, toApply);
                num.put("big.applying." + r.label, applying);
                String heapText = "";
                if (heap != null) {
                    Thread.sleep(300); // one more jstat sample after the end
                    long peakWindow = heap.peakKb(t0, tVisible);
                    long peakAll = heap.peakKb();
                    long oldWindow = heap.peakOldKb(t0, tVisible);
                    long oldAll = heap.peakOldKb(Long.MIN_VALUE, Long.MAX_VALUE);
                    num.put("big.heap.window", peakWindow / 1024.0);
                    num.put("big.heap.all", peakAll / 1024.0);
                    num.put("big.heap.old", oldAll / 1024.0);
                    heapText = "; heap in use (jstat -gc, S0U+S1U+EU+OU, every 100 ms, " + heap.count() + " samples): peak "
                            + f1(peakWindow / 1024.0) + " MB from the INSERT to visible (old generation alone, OU: peak "
                            + f1(oldWindow / 1024.0) + " MB), " + f1(peakAll / 1024.0) + " MB (OU " + f1(oldAll / 1024.0)
                            + " MB) over the whole process (which also applied the previous " + cfg.bigRows
                            + "-row transaction as backlog)" + (heap.error() == null ? "" : "; jstat said: " + heap.error());
                }
                say(r.label + ": visible on the target " + f2(secs) + " s after the source commit" + heapText);
                details.append("- ").append(r.label).append(": INSERT took ").append(f2((tCommit - t0) / 1e9))
                        .append(" s on the source and wrote ").append(mb(walBytes)).append(" of WAL; all ")
                        .append(cfg.bigRows).append(" rows visible on the target ").append(f2(secs))
                        .append(" s after the commit returned: the target's apply transaction started ").append(f2(toApply))
                        .append(" s after the commit (decoding and sending by the source's walsender: pg_stat_activity.xact_start"
                                + " of the apply backend) and took ").append(f2(applying)).append(" s; the apply backend used ")
                        .append(f2(cpuAfter[0] - cpuBefore[0])).append(" CPU-s user + ").append(f2(cpuAfter[1] - cpuBefore[1]))
                        .append(" CPU-s system meanwhile; its state / wait event (every 20 ms while applying): ").append(waitText)
                        .append(heapText).append("; ").append(foreignBig).append(".\n");
                r.stop();
            } finally {
                if (heap != null) {
                    heap.close();
                }
            }
        }
        double n = num.get("big.native");
        double m = num.get("big.pgmesh");
        row("3", "One " + String.format("%,d", cfg.bigRows) + "-row INSERT txn: source commit -> visible on target, s",
                f2(n), f2(m), ratio(m, n), "<= 1.5x native", verdict(m / n <= 1.5));
        double na = num.get("big.applying.native");
        double ma = num.get("big.applying.pgmesh");
        row("3", "... of which the target's apply transaction (its xact_start -> visible), s; the rest is the source"
                + " walsender decoding the transaction before sending it", f2(na), f2(ma), ratio(ma, na), "-", "-");
        row("3", "pgmesh heap in use, peak MB over its run in scenario 3 (jstat -gc every 100 ms: S0U+S1U+EU+OU;"
                        + " old gen OU alone in brackets), -Xmx" + cfg.xmx, "-",
                f1(num.get("big.heap.all")) + " (" + f1(num.get("big.heap.old")) + ")", "-", "bounded",
                num.get("big.heap.all") < 0 ? "no samples" : "-");
    }

    private Procs.HeapSampler heapSampler(long pid) throws Exception {
        Path perf = Path.of(System.getProperty("java.io.tmpdir"), "hsperfdata_" + System.getProperty("user.name"),
                String.valueOf(pid));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(perf) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Thread.sleep(200);
        return new Procs.HeapSampler(pid, 100);
    }

    // ----------------------------------------------------------------------------------------------
    // 4. Latency

    private void latency() throws Exception {
        section("4. latency at " + cfg.latRate + " txn/s");
        details.append("\n## 4. Latency, commit on the source -> row applied on the target\n\n");
        Path script = runDir.resolve("lat.sql");
        Files.writeString(script, "INSERT INTO lat DEFAULT VALUES;\n");
        for (Replicator r : List.of(nat, mesh)) {
            startFor(r, "latency");
            Drain pre = sync(r, "latency-pre", false);
            say(r.label + " running and caught up (backlog applied in " + f2(pre.seconds()) + " s)");
            checkpointAll();
            long before = Db.num(src, SRC_DB, 0, "SELECT coalesce(max(id), 0) FROM lat");
            Map<Long, Double> f0 = foreign();
            Pgbench.Result pb = pgbench("latency-" + r.label, "-c", String.valueOf(cfg.clients), "-j",
                    String.valueOf(cfg.jobs), "-R", String.valueOf(cfg.latRate), "-T", String.valueOf(cfg.latSeconds),
                    "-f", script.toString());
            long after = Db.num(src, SRC_DB, 0, "SELECT coalesce(max(id), 0) FROM lat");
            String foreignLat = foreignText(f0, foreign());
            String progress;
            try (Connection tc = Db.open(tgt, r.targetDb)) {
                progress = r.progress(tc);
            }
            await(r, mark("latency-" + r.label), true, System.nanoTime(), progress, 10);
            double[] s = new double[6];
            try (Connection tc = Db.open(tgt, r.targetDb);
                 PreparedStatement ps = tc.prepareStatement("""
                         SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                                percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms), avg(ms), min(ms)
                           FROM (SELECT extract(epoch FROM applied_at - created_at) * 1000 AS ms
                                   FROM lat WHERE id > ? AND id <= ?) x""")) {
                ps.setLong(1, before);
                ps.setLong(2, after);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    for (int i = 0; i < 6; i++) {
                        s[i] = rs.getDouble(i + 1);
                    }
                }
            }
            if ((long) s[0] != after - before) {
                warnings.add(r.label + " latency: " + (long) s[0] + " rows on the target, " + (after - before) + " on the source");
            }
            num.put("lat.p50." + r.label, s[1]);
            num.put("lat.p99." + r.label, s[2]);
            say(r.label + ": " + (long) s[0] + " rows at " + f1(pb.tps()) + " txn/s; p50 " + f2(s[1]) + " ms, p99 "
                    + f2(s[2]) + " ms, max " + f2(s[3]) + " ms");
            details.append("- ").append(r.label).append(": ").append((long) s[0]).append(" rows (source ")
                    .append(f1(pb.tps())).append(" txn/s, pgbench latency avg ").append(f2(pb.latencyMs()))
                    .append(" ms); applied_at - created_at: min ").append(f2(s[5])).append(" ms, p50 ").append(f2(s[1]))
                    .append(" ms, avg ").append(f2(s[4])).append(" ms, p99 ").append(f2(s[2])).append(" ms, max ")
                    .append(f2(s[3])).append(" ms; ").append(foreignLat).append(".\n");
            r.stop();
        }
        row("4", "Latency p50 at " + cfg.latRate + " txn/s, ms (created_at on source -> applied_at on target)",
                f2(num.get("lat.p50.native")), f2(num.get("lat.p50.pgmesh")),
                ratio(num.get("lat.p50.pgmesh"), num.get("lat.p50.native")), "-", "-");
        row("4", "Latency p99 at " + cfg.latRate + " txn/s, ms", f2(num.get("lat.p99.native")),
                f2(num.get("lat.p99.pgmesh")), ratio(num.get("lat.p99.pgmesh"), num.get("lat.p99.native")), "< 100 ms",
                verdict(num.get("lat.p99.pgmesh") < 100));
    }

    // ----------------------------------------------------------------------------------------------
    // Common steps

    private void startFor(Replicator r, String tag) throws Exception {
        if (r instanceof Mesh m) {
            m.start(tag);
        } else {
            r.start();
        }
    }

    /** Marks the source's current position, then commits a marker row after it: reaching the mark means all before it is applied. */
    private Mark mark(String tag) throws SQLException {
        try (Connection c = Db.open(src, SRC_DB)) {
            String lsn = Db.str(c, "SELECT pg_current_wal_lsn()::text");
            long id = Db.num(c, -1, "INSERT INTO bench_mark(tag) VALUES (?) RETURNING id", tag + "-" + (++markSeq));
            return new Mark(lsn, id);
        }
    }

    /** Waits (unmeasured) until a running replicator has applied everything up to now; may profile it meanwhile. */
    private Drain sync(Replicator r, String tag, boolean profile) throws Exception {
        String initial;
        try (Connection tc = Db.open(tgt, r.targetDb)) {
            initial = r.progress(tc);
        }
        Mark mark = mark(tag);
        Profiler p = profile ? new Profiler(r, tag) : null;
        try {
            return await(r, mark, true, System.nanoTime(), initial, 20);
        } finally {
            if (p != null) {
                profiles.append(p.finish());
            }
        }
    }

    /**
     * Polls the target's origin until its remote_lsn reaches the mark: then every transaction that
     * committed before the mark is applied. With {@code withMarker}, also until the marker row is there.
     */
    private Drain await(Replicator r, Mark mark, boolean withMarker, long t0, String initial, int pollMillis)
            throws Exception {
        long deadline = t0 + TimeUnit.SECONDS.toNanos(cfg.timeoutSeconds);
        long first = -1;
        String origin = r.origin();
        try (Connection tc = Db.open(tgt, r.targetDb);
             PreparedStatement ps = tc.prepareStatement("SELECT remote_lsn::text, pg_wal_lsn_diff(remote_lsn, ?::pg_lsn) >= 0"
                     + (withMarker ? " AND EXISTS (SELECT 1 FROM bench_mark WHERE id = " + mark.id() + ")" : "")
                     + " FROM pg_replication_origin_status WHERE external_id = ?")) {
            ps.setString(1, mark.lsn());
            ps.setString(2, origin);
            while (true) {
                String lsn = "0/0";
                boolean done = false;
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        lsn = rs.getString(1);
                        done = rs.getBoolean(2);
                    }
                }
                long now = System.nanoTime();
                if (first < 0 && !lsn.equals(initial)) {
                    first = now;
                }
                if (done) {
                    return new Drain(t0, first, now, initial, lsn);
                }
                r.checkAlive();
                if (now > deadline) {
                    throw new IllegalStateException(r.label + " did not reach " + mark.lsn() + " within " + cfg.timeoutSeconds
                            + " s (at " + lsn + ")");
                }
                Thread.sleep(pollMillis);
            }
        }
    }

    private Pgbench.Result pgbench(String tag, String... args) throws Exception {
        List<String> a = new ArrayList<>();
        a.add("-n");
        a.add("-P");
        a.add("5");
        a.addAll(Arrays.asList(args));
        return Pgbench.run(src, SRC_DB, runDir.resolve("pgbench-" + tag + ".log"), a.toArray(new String[0]));
    }

    /** The same starting conditions before every load: fresh statistics, no dirty buffers. */
    private void prepareLoad() throws SQLException {
        Db.exec(src, SRC_DB, "VACUUM ANALYZE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history");
        checkpointAll();
    }

    private void checkpointAll() throws SQLException {
        Db.exec(src, "postgres", "CHECKPOINT");
        Db.exec(tgt, "postgres", "CHECKPOINT");
    }

    private long meshConflicts() throws SQLException {
        return Db.num(tgt, MESH_DB, 0, "SELECT count(*) FROM pgmesh.conflicts");
    }

    /** Brings both targets up to date, then compares every replicated table with the source. */
    private void finalCheck() throws Exception {
        section("final check");
        Mark mark = mark("final");
        for (Replicator r : List.of(nat, mesh)) {
            String initial;
            try (Connection tc = Db.open(tgt, r.targetDb)) {
                initial = r.progress(tc);
            }
            startFor(r, "final");
            await(r, mark, true, System.nanoTime(), initial, 20);
            r.stop();
        }
        checkConsistent("at the end", TABLES);
        List<String> problems = mesh.problems();
        details.append("\n## pgmesh log\n\n").append(problems.isEmpty() ? "No WARN/ERROR lines in pgmesh's logs.\n"
                : "WARN/ERROR lines in pgmesh's logs:\n\n```\n" + String.join("\n", problems.subList(0,
                Math.min(40, problems.size()))) + "\n```\n");
        long conflicts = meshConflicts();
        details.append("\nConflicts in `pgmesh.conflicts` on the pgmesh target at the end: ").append(conflicts).append(
                conflicts == 0 ? ".\n" : " (" + Db.str(tgt, MESH_DB, "SELECT string_agg(conflict_type || ' ' || resolution"
                        + " || ': ' || n, ', ') FROM (SELECT conflict_type, resolution, count(*) n FROM pgmesh.conflicts"
                        + " GROUP BY 1, 2) x") + ").\n");
    }

    private void checkConsistent(String when, List<String> tables) throws SQLException {
        Map<String, String> s = checksums(src, SRC_DB, tables);
        Map<String, String> n = checksums(tgt, NATIVE_DB, tables);
        Map<String, String> m = checksums(tgt, MESH_DB, tables);
        List<String> diff = new ArrayList<>();
        for (String t : tables) {
            if (!s.get(t).equals(n.get(t))) {
                diff.add(t + " native " + n.get(t) + " != source " + s.get(t));
            }
            if (!s.get(t).equals(m.get(t))) {
                diff.add(t + " pgmesh " + m.get(t) + " != source " + s.get(t));
            }
        }
        String line = "Consistency " + when + ": " + (diff.isEmpty() ? "source, native and pgmesh targets identical in "
                + String.join(", ", tables) + " (count + hash of every row)" : "DIFFERENCES: " + String.join("; ", diff));
        say(line);
        details.append("\n").append(line).append(".\n");
        if (!diff.isEmpty()) {
            warnings.add(line);
        }
    }

    private static Map<String, String> checksums(EmbeddedPostgres pg, String db, List<String> tables) throws SQLException {
        Map<String, String> out = new TreeMap<>();
        try (Connection c = Db.open(pg, db)) {
            for (String t : tables) {
                String expr = t.equals("lat") ? "(t.id, t.created_at)::text" : "t::text";
                out.put(t, Db.str(c, "SELECT count(*) || '/' || coalesce(sum(hashtext(" + expr + ")::bigint), 0) FROM "
                        + t + " t"));
            }
        }
        return out;
    }

    // ----------------------------------------------------------------------------------------------
    // Profiling an unmeasured drain

    /**
     * While a replicator drains a backlog: samples what its target backend is doing
     * (pg_stat_activity, every 50 ms) and, for pgmesh, where its apply and capture threads are
     * (jstack, every second). Runs only during unmeasured catch-ups: jstack pauses the JVM.
     */
    private final class Profiler {
        private final Replicator r;
        private final String tag;
        private final Thread thread;
        private final Map<String, Integer> activity = new TreeMap<>();
        private final Map<String, Integer> applyStacks = new TreeMap<>();
        private final Map<String, Integer> captureStacks = new TreeMap<>();
        private final long t0 = System.nanoTime();
        private volatile boolean running = true;
        private int dumps;
        private int activitySamples;
        private String error;
        private Path jfrFile;
        private volatile Process perf;
        private Path perfFile;
        private volatile boolean jfrStarted;
        private String jfrError;

        Profiler(Replicator r, String tag) {
            this.r = r;
            this.tag = tag;
            thread = new Thread(this::loop, "profiler");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            try (Connection tc = Db.open(tgt, r.targetDb);
                 PreparedStatement ps = tc.prepareStatement("SELECT coalesce(state, '-') || ' / ' ||"
                         + " coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity WHERE pid = ?")) {
                long pid = -1;
                long nextDump = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
                if (r instanceof Mesh m) {
                    jfrFile = runDir.resolve("jfr-" + tag + ".jfr");
                    for (int i = 0; i < 20 && running && !jfrStarted; i++) {
                        String out = Procs.jfrStart(m.pid(), jfrFile);
                        jfrStarted = out.contains("Started recording");
                        if (!jfrStarted) {
                            jfrError = out.trim();
                            Thread.sleep(250);
                        }
                    }
                }
                while (running) {
                    if (pid < 0) {
                        pid = r.applyPid(tc);
                        if (pid > 0 && perf == null && PERF) {
                            perfFile = runDir.resolve("perf-" + tag + ".data");
                            perf = new ProcessBuilder("perf", "record", "-F", "499", "-g", "-p", String.valueOf(pid),
                                    "-o", perfFile.toString()).redirectErrorStream(true)
                                    .redirectOutput(runDir.resolve("perf-" + tag + ".log").toFile()).start();
                        }
                    }
                    if (pid > 0) {
                        ps.setLong(1, pid);
                        try (ResultSet rs = ps.executeQuery()) {
                            if (rs.next()) {
                                activity.merge(rs.getString(1), 1, Integer::sum);
                                activitySamples++;
                            } else {
                                pid = -1;
                            }
                        }
                    }
                    if (r instanceof Mesh m && System.nanoTime() > nextDump && dumps < 30) {
                        String dump = Procs.jstack(m.pid());
                        Files.writeString(runDir.resolve(String.format("jstack-%s-%02d.txt", tag, ++dumps)), dump);
                        applyStacks.merge(summarize(Procs.threadFrames(dump, "apply source->target")), 1, Integer::sum);
                        captureStacks.merge(summarize(Procs.threadFrames(dump, "capture source->target")), 1, Integer::sum);
                        nextDump = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
                    }
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                error = e.toString();
            }
        }

        String finish() throws InterruptedException {
            running = false;
            thread.join(30_000);
            String perfText = "";
            Process p = perf;
            if (p != null) {
                p.destroy(); // SIGTERM: perf record writes its file and exits
                p.waitFor(60, TimeUnit.SECONDS);
                perfText = perfSummary();
            }
            String jfr = "";
            if (r instanceof Mesh m && jfrStarted) {
                Procs.jfrStop(m.pid());
                jfr = jfrSummary();
            } else if (r instanceof Mesh) {
                jfr = "\nJFR recording did not start: " + jfrError + "\n";
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            StringBuilder sb = new StringBuilder("\n### Profile: ").append(r.label).append(" draining a backlog (")
                    .append(tag).append(", ").append(f1(secs)).append(" s, unmeasured)\n\n");
            sb.append("Target apply backend in pg_stat_activity (state / wait event), ").append(activitySamples)
                    .append(" samples every 50 ms:\n\n");
            appendHistogram(sb, activity, activitySamples);
            if (r instanceof Mesh) {
                sb.append("\npgmesh apply thread, ").append(dumps).append(" jstack samples (top frame <- nearest pgmesh frame;"
                        + " dumps in the run directory):\n\n");
                appendHistogram(sb, applyStacks, dumps);
                sb.append("\npgmesh capture thread, same samples:\n\n");
                appendHistogram(sb, captureStacks, dumps);
                sb.append(jfr);
            }
            sb.append(perfText);
            if (error != null) {
                sb.append("\nprofiler error: ").append(error).append('\n');
            }
            return sb.toString();
        }

        /** Where the target's apply backend spent its CPU: perf record -g of that one process. */
        private String perfSummary() {
            String dso = Procs.run(List.of("perf", "report", "-i", perfFile.toString(), "--stdio", "--no-children",
                    "--sort", "dso", "-g", "none", "--percent-limit", "0.5"), 120);
            String self = Procs.run(List.of("perf", "report", "-i", perfFile.toString(), "--stdio", "--no-children",
                    "--sort", "symbol", "-g", "none", "--percent-limit", "0.7"), 120);
            String incl = Procs.run(List.of("perf", "report", "-i", perfFile.toString(), "--stdio", "--children",
                    "--sort", "symbol", "-g", "none", "--percent-limit", "8"), 120);
            StringBuilder sb = new StringBuilder("\nperf record -F 499 -g of the target apply backend (that pid only), ")
                    .append(perfSamples(self)).append(". Self time by binary:\n\n```\n");
            perfLines(dso, 8).forEach(l -> sb.append(l).append('\n'));
            sb.append("```\n\nSelf time by symbol ([k] kernel, [.] user space):\n\n```\n");
            perfLines(self, 20).forEach(l -> sb.append(l).append('\n'));
            sb.append("```\n\nInclusive (children) time, >= 8% (kernel call chains; PostgreSQL's own frames are not"
                    + " unwound, it is built without frame pointers):\n\n```\n");
            perfLines(incl, 14).forEach(l -> sb.append(l).append('\n'));
            return sb.append("```\n").toString();
        }

        /** Where the JVM's Java threads were on CPU: JFR execution samples (every 10 ms per running thread). */
        private String jfrSummary() {
            List<Map.Entry<String, List<String>>> samples = Procs.jfrSamples(jfrFile);
            StringBuilder sb = new StringBuilder("\nJFR (settings=profile) execution samples: ").append(samples.size())
                    .append(" in all; a Java thread is sampled only while it runs Java code (not while it waits in a"
                            + " socket read). By thread:\n\n");
            Map<String, Integer> byThread = new TreeMap<>();
            Map<String, Integer> applySelf = new TreeMap<>();
            Map<String, Integer> applyPgmesh = new TreeMap<>();
            Map<String, Integer> applyIncl = new TreeMap<>();
            Map<String, Integer> captureSelf = new TreeMap<>();
            int apply = 0;
            int capture = 0;
            for (Map.Entry<String, List<String>> e : samples) {
                byThread.merge(e.getKey(), 1, Integer::sum);
                List<String> f = e.getValue();
                if (f.isEmpty()) {
                    continue;
                }
                if (e.getKey().equals("apply source->target")) {
                    apply++;
                    applySelf.merge(method(f.get(0)), 1, Integer::sum);
                    applyPgmesh.merge(f.stream().filter(x -> x.startsWith("io.pgmesh.")).findFirst().map(Bench::method)
                            .orElse("-"), 1, Integer::sum);
                    // inclusive: which layer the sample is under
                    Set<String> layers = new LinkedHashSet<>();
                    for (String x : f) {
                        layers.add(layer(x));
                    }
                    layers.forEach(l -> applyIncl.merge(l, 1, Integer::sum));
                } else if (e.getKey().equals("capture source->target")) {
                    capture++;
                    captureSelf.merge(method(f.get(0)), 1, Integer::sum);
                }
            }
            appendHistogram(sb, byThread, samples.size());
            sb.append("\nApply thread (").append(apply).append(" samples), top frames (self):\n\n");
            appendHistogram(sb, applySelf, apply);
            sb.append("\nApply thread, nearest pgmesh frame:\n\n");
            appendHistogram(sb, applyPgmesh, apply);
            sb.append("\nApply thread, inclusive by layer (a sample counts for every layer on its stack):\n\n");
            appendHistogram(sb, applyIncl, apply);
            sb.append("\nCapture thread (").append(capture).append(" samples), top frames (self):\n\n");
            appendHistogram(sb, captureSelf, capture);
            return sb.toString();
        }

        private void appendHistogram(StringBuilder sb, Map<String, Integer> h, int total) {
            h.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(10).forEach(e -> sb.append("- ")
                    .append(total == 0 ? "?" : pct(e.getValue() / (double) total)).append(" `").append(e.getKey())
                    .append("`\n"));
            if (h.isEmpty()) {
                sb.append("- (no samples)\n");
            }
        }
    }

    static final boolean PERF = !"0".equals(System.getenv("BENCH_PERF")) && Files.isExecutable(Path.of("/usr/bin/perf"));

    private static String perfSamples(String report) {
        for (String l : report.split("\n")) {
            if (l.startsWith("# Samples:")) {
                return l.substring(2).trim();
            }
        }
        return "no samples";
    }

    private static List<String> perfLines(String report, int max) {
        return report.lines().filter(l -> l.matches("^\\s+[0-9.]+%.*")).map(String::stripTrailing).limit(max).toList();
    }

    /** "state: top frame <- nearest pgmesh frame" of one thread's stack. */
    static String summarize(List<String> frames) {
        if (frames.isEmpty()) {
            return "(thread not found)";
        }
        String state = frames.get(0).startsWith("#") ? frames.get(0).substring(1).split(" ")[0] : "?";
        List<String> at = frames.stream().filter(f -> !f.startsWith("#")).toList();
        if (at.isEmpty()) {
            return state;
        }
        String top = shortFrame(at.get(0));
        String pg = at.stream().filter(f -> f.startsWith("io.pgmesh.")).findFirst().map(Bench::shortFrame).orElse("-");
        String driver = at.stream().filter(f -> f.startsWith("org.postgresql.jdbc.")).findFirst().map(Bench::shortFrame).orElse(null);
        return state + ": " + top + (driver != null && !driver.equals(top) ? " <- " + driver : "") + " <- " + pg;
    }

    /** "Class.method" of a JFR frame such as {@code io.pgmesh.apply.RowWriter.update(...)}. */
    static String method(String frame) {
        return shortFrame(frame.replaceAll("\\(.*$", ""));
    }

    /** A coarse layer for a frame: pgmesh package, pgjdbc, JDK I/O, JDK other. */
    static String layer(String frame) {
        if (frame.startsWith("io.pgmesh.")) {
            String[] p = frame.split("\\.");
            return "pgmesh " + p[2];
        }
        if (frame.startsWith("org.postgresql.")) {
            return "pgjdbc";
        }
        if (frame.startsWith("sun.nio.") || frame.startsWith("java.net.") || frame.startsWith("java.io.")) {
            return "JDK I/O";
        }
        return "JDK other";
    }

    private static String shortFrame(String f) {
        String s = f.replaceAll("\\(.*\\)", "");
        String[] p = s.split("\\.");
        return p.length >= 2 ? p[p.length - 2] + "." + p[p.length - 1] : s;
    }

    // ----------------------------------------------------------------------------------------------
    // Output

    private void row(String n, String what, String nat, String pgm, String ratio, String aim, String verdict) {
        table.add(new String[] {n, what, nat, pgm, ratio, aim, verdict});
    }

    private String tableMarkdown() {
        StringBuilder sb = new StringBuilder("| # | measurement | native | pgmesh | pgmesh / native | aim | aim met? |\n")
                .append("|---|---|---:|---:|---:|---|---|\n");
        for (String[] r : table) {
            sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return sb.toString();
    }

    private void writeResults(boolean partial) throws IOException {
        String tableText = tableMarkdown();
        System.out.println("\n" + tableText);
        for (String w : warnings) {
            System.out.println("WARNING: " + w);
        }
        StringBuilder md = new StringBuilder("# pgmesh vs native logical replication, ").append(stamp)
                .append(partial ? " (PARTIAL: the run failed)" : "").append("\n\n")
                .append(tableText).append("\n");
        if (!warnings.isEmpty()) {
            md.append("**Warnings:**\n\n");
            warnings.forEach(w -> md.append("- ").append(w).append('\n'));
            md.append('\n');
        }
        md.append("## Environment\n\n").append(environment()).append('\n');
        md.append(details);
        if (profiles.length() > 0) {
            md.append("\n## Profiles (unmeasured catch-ups)\n").append(profiles);
        }
        md.append("\nLogs, pgbench output and thread dumps: `").append(root.relativize(runDir)).append("`.\n");
        Files.writeString(resultsFile, md.toString());
        say("results written to " + root.relativize(resultsFile));
    }

    private String environment() {
        StringBuilder sb = new StringBuilder();
        try {
            sb.append("- Machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores (")
                    .append(cpuModel()).append("), ").append(memTotal()).append(" RAM, Linux ")
                    .append(System.getProperty("os.version")).append(".\n");
            sb.append("- PostgreSQL: ").append(src == null ? cfg.pgVersion : Db.str(src, "postgres", "SELECT version()"))
                    .append(" (embedded binaries io.zonky.test.postgres ").append(cfg.pgVersion).append("), source and target"
                            + " servers on the same machine, loopback TCP.\n");
            sb.append("- Load client: ").append(Pgbench.version()).append(" (a PostgreSQL 15 client against the ")
                    .append(cfg.pgVersion).append(" servers), `-c ").append(cfg.clients).append(" -j ").append(cfg.jobs)
                    .append("`, TPC-B built-in script, `-n` (no vacuum by pgbench; the benchmark runs VACUUM ANALYZE and"
                            + " CHECKPOINT before each load).\n");
            sb.append("- Java: ").append(System.getProperty("java.vm.name")).append(' ')
                    .append(System.getProperty("java.runtime.version")).append("; pgmesh: `").append(mesh == null ? "?" :
                            String.join(" ", mesh.command()).replace(root + "/", "")).append("`, commit ")
                    .append(git()).append(".\n");
            sb.append("- Durations: load ").append(cfg.seconds).append(" s, latency ").append(cfg.latSeconds).append(" s at ")
                    .append(cfg.latRate).append(" txn/s, pgbench scale ").append(cfg.scale).append(", big transaction ")
                    .append(cfg.bigRows).append(" rows, target rows ").append(cfg.adopt ? "adopted" : "local").append(".\n");
            if (src != null) {
                sb.append("- Server settings (both servers; EmbeddedPostgres defaults with ").append(SERVER_SETTINGS)
                        .append("): ").append(settings()).append(".\n");
                sb.append("- Subscription: ").append(Db.str(tgt, NATIVE_DB, "SELECT 'streaming=' || substream::text || ', binary='"
                        + " || subbinary::text || ', synchronous_commit=' || subsynccommit || ', copy_data=false'"
                        + " FROM pg_subscription WHERE subname = 'native_sub'")).append(" (PostgreSQL's defaults otherwise)."
                        + " pgmesh's apply session uses synchronous_commit=off too.\n");
            }
        } catch (Exception e) {
            sb.append("- (environment incomplete: ").append(e).append(")\n");
        }
        return sb.toString();
    }

    private String settings() throws SQLException {
        List<String> names = List.of("fsync", "synchronous_commit", "full_page_writes", "wal_level", "wal_sync_method",
                "shared_buffers", "max_wal_size", "checkpoint_timeout", "logical_decoding_work_mem",
                "track_commit_timestamp", "autovacuum", "max_connections");
        List<String> out = new ArrayList<>();
        try (Connection c = Db.open(src, "postgres")) {
            for (String n : names) {
                out.add(n + "=" + Db.str(c, "SELECT current_setting(?)", n));
            }
        }
        return String.join(", ", out);
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }

    private static String memTotal() {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal"))
                    .findFirst().map(l -> Math.round(Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0) + " GB")
                    .orElse("?");
        } catch (IOException e) {
            return "?";
        }
    }

    private Path jar() {
        String j = System.getProperty("bench.jar", "");
        return j.isBlank() ? root.resolve("target").resolve("pgmesh.jar") : Path.of(j);
    }

    private String git() {
        String v = System.getProperty("bench.version", "");
        if (!v.isBlank()) {
            return v;
        }
        try {
            Process p = new ProcessBuilder("git", "-C", root.toString(), "rev-parse", "--short", "HEAD").start();
            String head = new String(p.getInputStream().readAllBytes()).trim();
            Process q = new ProcessBuilder("git", "-C", root.toString(), "status", "--porcelain", "src/main", "pom.xml").start();
            List<String> dirty = new String(q.getInputStream().readAllBytes()).lines()
                    .map(l -> l.substring(3).replaceAll("^.*/", "")).toList();
            return head + (dirty.isEmpty() ? "" : " plus uncommitted changes in the working tree to " + String.join(", ", dirty));
        } catch (IOException e) {
            return "?";
        }
    }

    private void section(String name) {
        say("=== " + name + " ===");
    }

    private static void say(String s) {
        System.out.println("[" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss")) + "] " + s);
        System.out.flush();
    }

    /** Stops pgmesh and every other child of this JVM (pgbench, jstat, jstack, perf); the servers stop themselves. */
    private void killPgmesh() {
        if (mesh != null) {
            mesh.kill();
        }
        // Not the servers' own helpers (runuser/setpriv -> pg_ctl), which EmbeddedPostgres' hook may be running.
        ProcessHandle.current().descendants()
                .filter(h -> !h.info().command().orElse("").matches(".*/(runuser|setpriv|pg_ctl|initdb)$"))
                .forEach(ProcessHandle::destroy);
    }

    /**
     * Stops everything, once, whoever calls first (the main thread or the shutdown hook); a second
     * caller waits until the first is done, so that the JVM does not halt halfway through deleting
     * the servers' data directories.
     */
    private void close() {
        if (!closing.compareAndSet(false, true)) {
            try {
                closed.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        try {
            killPgmesh();
            if (src != null) {
                src.close();
            }
            if (tgt != null) {
                tgt.close();
            }
        } finally {
            closed.countDown();
        }
    }

    static String f0(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f", v);
    }

    static String f1(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f", v);
    }

    static String f2(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    static String f3(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
    }

    static String pct(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f%%", v * 100);
    }

    static String us(double seconds) {
        return Double.isNaN(seconds) ? "n/a" : String.format(Locale.ROOT, "%.0f µs", seconds * 1e6);
    }

    static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1024.0 / 1024.0);
    }

    static String ratio(double pgmesh, double nat) {
        return Double.isNaN(pgmesh) || Double.isNaN(nat) || nat == 0 ? "n/a"
                : String.format(Locale.ROOT, "%.2fx", pgmesh / nat);
    }

    static String verdict(boolean met) {
        return met ? "yes" : "**no**";
    }
}
