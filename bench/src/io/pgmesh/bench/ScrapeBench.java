package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How long /metrics and /api/status take on a big mesh: five nodes (20 tasks), each with
 * BENCH_SCRAPE_TABLES tables (200), every task having applied inserts, updates and deletes to
 * every table, so that each labelled series exists (20 x 200 x 3 of pgmesh_changes_applied_total
 * alone). pgmesh runs as a user runs it, {@code java -jar target/pgmesh.jar run --http}; the
 * endpoints are timed from outside, BENCH_SCRAPES (200) times each. Run by hand:
 * {@code BENCH_MAIN=io.pgmesh.bench.ScrapeBench bench/run.sh}; see docs/BENCHMARKS.md.
 */
public final class ScrapeBench {
    private static final String DB = "bench";
    private static final String[] NAMES = {"n1", "n2", "n3", "n4", "n5"};
    private final int tables = RunProcess.env("BENCH_SCRAPE_TABLES", 200);
    private final int scrapes = RunProcess.env("BENCH_SCRAPES", 200);
    private final String version = System.getenv().getOrDefault("BENCH_PG_VERSION", "17.5.0");
    private final List<EmbeddedPostgres> servers = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        ScrapeBench b = new ScrapeBench();
        try {
            b.run();
        } finally {
            b.servers.forEach(EmbeddedPostgres::close);
        }
        System.exit(0);
    }

    private void run() throws Exception {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path out = Path.of("bench", "out").toAbsolutePath();
        Path runDir = out.resolve("scrape-" + stamp);
        Files.createDirectories(runDir);
        StringBuilder mesh = new StringBuilder("nodes:\n");
        StringBuilder ddl = new StringBuilder();
        for (int t = 1; t <= tables; t++) {
            ddl.append(String.format("CREATE TABLE t%03d (id int PRIMARY KEY, v int);", t));
        }
        for (String name : NAMES) {
            EmbeddedPostgres pg = EmbeddedPostgres.start(version, null, Map.of());
            servers.add(pg);
            pg.createDatabase(DB);
            Db.exec(pg, DB, ddl.toString());
            mesh.append("  - {name: ").append(name).append(", host: 127.0.0.1, port: ").append(pg.port())
                    .append(", database: ").append(DB).append(", user: postgres, sslmode: disable}\n");
        }
        mesh.append("tables:\n  include: [\"public.*\"]\n");
        Path meshFile = runDir.resolve("mesh.yaml");
        Files.writeString(meshFile, mesh);
        int port = RunProcess.freePort();
        String base = "http://127.0.0.1:" + port;
        Process run = RunProcess.start(meshFile, port, runDir, "run.log");
        try {
            RunProcess.awaitHealthy(base, Duration.ofMinutes(3));
            for (int i = 0; i < NAMES.length; i++) {
                StringBuilder w = new StringBuilder();
                for (int t = 1; t <= tables; t++) {
                    int id = i + 1;
                    w.append(String.format("INSERT INTO t%03d VALUES (%d, 0); UPDATE t%03d SET v = 1 WHERE id = %d;"
                            + " DELETE FROM t%03d WHERE id = %d;", t, id, t, id, t, id));
                }
                Db.exec(servers.get(i), DB, w.toString());
            }
            // Timed only once every task applied every table's changes and a status reading is taken:
            // the figure is the endpoint's own cost, not the catch-up's CPU.
            long expected = (long) NAMES.length * (NAMES.length - 1) * tables * 3;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            String body = RunProcess.get(base + "/metrics");
            while (body.lines().filter(l -> l.startsWith("pgmesh_changes_applied_total{")).count() < expected
                    || !body.contains("pgmesh_slot_retained_wal_bytes{")) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the changes were not all applied within 5 minutes");
                }
                Thread.sleep(2000);
                body = RunProcess.get(base + "/metrics");
            }
            Thread.sleep(5000);
            long series = body.lines().filter(l -> !l.startsWith("#")).count();
            long applied = body.lines().filter(l -> l.startsWith("pgmesh_changes_applied_total{")).count();
            double[] metrics = time(base + "/metrics");
            double[] status = time(base + "/api/status");
            String text = "# /metrics and /api/status on 5 nodes, 20 tasks, " + tables + " tables, PostgreSQL "
                    + version + "\n\n"
                    + "- /metrics: " + body.length() / 1024 + " kB, " + series + " samples (" + applied
                    + " of pgmesh_changes_applied_total)\n"
                    + line("/metrics", metrics) + line("/api/status", status);
            System.out.println(text);
            Files.writeString(out.resolve("scrape-" + stamp + ".md"), text);
        } finally {
            run.destroy();
            run.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static String line(String what, double[] ms) {
        return String.format("- %s over %d requests: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", what, ms.length,
                ms[ms.length / 2], ms[(int) Math.ceil(ms.length * 0.99) - 1], ms[ms.length - 1]);
    }

    /**
     * Each request timed from its first byte sent to the last byte of the answer read, over a
     * plain socket as Prometheus's own lean client would: the JDK's HttpClient adds its own
     * threads and a decoding of the body to every figure. 100 requests first warm the JIT up, as
     * a process that has run for a few minutes is.
     */
    private double[] time(String url) throws Exception {
        URI u = URI.create(url);
        for (int i = 0; i < 100; i++) {
            rawGet(u);
        }
        double[] ms = new double[scrapes];
        for (int i = 0; i < scrapes; i++) {
            long t0 = System.nanoTime();
            long bytes = rawGet(u);
            ms[i] = (System.nanoTime() - t0) / 1e6;
            if (bytes < 100) {
                throw new IllegalStateException(url + " answered " + bytes + " bytes");
            }
        }
        Arrays.sort(ms);
        return ms;
    }

    /** One HTTP/1.1 GET on a new connection, read to its end; returns the bytes read. */
    private static long rawGet(URI u) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(u.getHost(), u.getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET " + u.getPath() + " HTTP/1.1\r\nHost: " + u.getHost() + ":"
                    + u.getPort() + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] buf = new byte[1 << 16];
            long total = 0;
            java.io.InputStream in = socket.getInputStream();
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
            }
            return total;
        }
    }

}
