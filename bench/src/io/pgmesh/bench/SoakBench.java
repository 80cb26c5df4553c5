package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Does anything pgmesh keeps grow without bound? Two nodes write for BENCH_SOAK_SECONDS (360) at
 * BENCH_SOAK_RATE transactions a second each (100): each transaction inserts a fresh key into
 * {@code churn} and deletes the key it inserted 50 transactions before (keys are never reused,
 * as deleted orders or expired sessions), and every fifth one also updates one of 50 {@code hot}
 * rows that both nodes update (conflicts). Half way, {@code pgmesh run} is killed (kill -9) and
 * started again. Every 10 s the run process's RSS and heap, the replication lag, and each node's
 * conflicts, apply errors and tombstones (rows and bytes) are sampled from /proc and /metrics.
 * Retention keeps conflicts for BENCH_SOAK_CONFLICTS (2m), so that their removal shows within
 * the run. With BENCH_SOAK_AWAY=N, west's server is stopped N seconds, 30 s after the restart,
 * while east writes on: east's tombstones grow, and should fall back once west is back. Run by hand: {@code BENCH_MAIN=io.pgmesh.bench.SoakBench bench/run.sh}; see
 * docs/BENCHMARKS.md.
 */
public final class SoakBench {
    private static final String DB = "bench";
    private static final String[] NAMES = {"east", "west"};
    private static final int HOT_ROWS = 50;
    private static final int DELETE_LAG = 50;

    private final int seconds = RunProcess.env("BENCH_SOAK_SECONDS", 360);
    private final int rate = RunProcess.env("BENCH_SOAK_RATE", 100);
    private final int away = RunProcess.env("BENCH_SOAK_AWAY", 0);
    private final String keepConflicts = System.getenv().getOrDefault("BENCH_SOAK_CONFLICTS", "2m");
    private final String version = System.getenv().getOrDefault("BENCH_PG_VERSION", "17.5.0");
    private final List<EmbeddedPostgres> servers = new ArrayList<>();
    private final AtomicBoolean writing = new AtomicBoolean(true);
    /** West's writer waits while west is down. */
    private volatile boolean westDown;
    private final AtomicLong committed = new AtomicLong();

    public static void main(String[] args) throws Exception {
        SoakBench b = new SoakBench();
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
        Path runDir = out.resolve("soak-" + stamp);
        Files.createDirectories(runDir);
        StringBuilder mesh = new StringBuilder("nodes:\n");
        for (String name : NAMES) {
            EmbeddedPostgres pg = EmbeddedPostgres.start(version, null, Map.of());
            servers.add(pg);
            pg.createDatabase(DB);
            Db.exec(pg, DB, "CREATE TABLE churn (id bigint PRIMARY KEY, node text, payload text);"
                    + " CREATE TABLE hot (id int PRIMARY KEY, n bigint)");
            mesh.append("  - {name: ").append(name).append(", host: 127.0.0.1, port: ").append(pg.port())
                    .append(", database: ").append(DB).append(", user: postgres, sslmode: disable}\n");
        }
        mesh.append("retention:\n  conflicts: ").append(keepConflicts).append("\n");
        Path meshFile = runDir.resolve("mesh.yaml");
        Files.writeString(meshFile, mesh);
        int port = RunProcess.freePort();
        String base = "http://127.0.0.1:" + port;
        Process run = RunProcess.start(meshFile, port, runDir, "run-1.log");
        List<String> rows = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        try {
            RunProcess.awaitHealthy(base, Duration.ofMinutes(3));
            Db.exec(servers.get(0), DB, "INSERT INTO hot SELECT g, 0 FROM generate_series(1, " + HOT_ROWS + ") g");
            Thread.sleep(3000);
            for (int i = 0; i < NAMES.length; i++) {
                int node = i;
                Thread w = new Thread(() -> write(node), "soak writer " + NAMES[i]);
                w.start();
                writers.add(w);
            }
            long started = System.nanoTime();
            boolean killed = false;
            long downAt = seconds / 2 + 30;
            boolean wentDown = false;
            boolean cameBack = false;
            while (System.nanoTime() - started < TimeUnit.SECONDS.toNanos(seconds)) {
                Thread.sleep(10_000);
                long at = (System.nanoTime() - started) / 1_000_000_000L;
                if (!killed && at >= seconds / 2) {
                    run.destroyForcibly();
                    run.waitFor(30, TimeUnit.SECONDS);
                    rows.add("| " + at + " | kill -9 of run, started again | | | | | | | |");
                    run = RunProcess.start(meshFile, port, runDir, "run-2.log");
                    RunProcess.awaitHealthy(base, Duration.ofMinutes(2));
                    killed = true;
                    continue;
                }
                if (away > 0 && !wentDown && at >= downAt) {
                    westDown = true;
                    Thread.sleep(200);
                    servers.get(1).stop();
                    rows.add("| " + at + " | west's server stopped | | | | | | | |");
                    wentDown = true;
                    continue;
                }
                if (wentDown && !cameBack && at >= downAt + away) {
                    servers.get(1).restart();
                    westDown = false;
                    rows.add("| " + at + " | west's server started again | | | | | | | |");
                    cameBack = true;
                    continue;
                }
                rows.add(sample(at, run.pid(), base));
            }
            writing.set(false);
            for (Thread w : writers) {
                w.join();
            }
            long settle = System.nanoTime();
            while (!same("SELECT count(*) || ':' || coalesce(sum(id), 0) FROM churn")
                    || !same("SELECT string_agg(id || '=' || n, ',' ORDER BY id) FROM hot")) {
                if (System.nanoTime() - settle > TimeUnit.MINUTES.toNanos(3)) {
                    throw new IllegalStateException("the nodes did not converge within 3 minutes of the load's end");
                }
                Thread.sleep(1000);
            }
            double settled = (System.nanoTime() - settle) / 1e9;
            rows.add(sample((System.nanoTime() - started) / 1_000_000_000L, run.pid(), base));
            String text = "# Soak: 2 nodes, " + seconds + " s at " + rate + " txn/s each, PostgreSQL " + version + "\n\n"
                    + "- transactions committed: " + committed.get() + "; kill -9 of run half way"
                    + (away > 0 ? "; west down " + away + " s from " + downAt + " s" : "") + "\n"
                    + String.format("- nodes identical (churn and hot) %.1f s after the load stopped%n", settled)
                    + "- retention.conflicts " + keepConflicts + "\n\n"
                    + "| s | RSS MB | heap MB | lag kB | conflicts rows (east/west) | tombstones rows (east/west)"
                    + " | tombstones kB (east/west) | apply errors | last retention round ms (east/west) |\n"
                    + "|---|---|---|---|---|---|---|---|---|\n"
                    + String.join("\n", rows) + "\n";
            System.out.println(text);
            Files.writeString(out.resolve("soak-" + stamp + ".md"), text);
        } finally {
            writing.set(false);
            run.destroy();
            run.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** One node's load, paced to {@link #rate} a second; a failed transaction is retried, a lost connection opened again. */
    private void write(int node) {
        long period = 1_000_000_000L / rate;
        long next = System.nanoTime();
        long k = 0;
        while (writing.get()) {
            try (Connection c = Db.open(servers.get(node), DB);
                 PreparedStatement insert = c.prepareStatement("INSERT INTO churn VALUES (?, ?, repeat('x', 200))");
                 PreparedStatement delete = c.prepareStatement("DELETE FROM churn WHERE id = ?");
                 PreparedStatement hot = c.prepareStatement("UPDATE hot SET n = n + 1 WHERE id = ?")) {
                c.setAutoCommit(false);
                while (writing.get()) {
                    next += period;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    if (node == 1 && westDown) {
                        Thread.sleep(100);
                        next = System.nanoTime();
                        continue;
                    }
                    // Fresh keys, never reused: node 0 writes the even ones, node 1 the odd ones.
                    insert.setLong(1, 2 * k + node);
                    insert.setString(2, NAMES[node]);
                    insert.executeUpdate();
                    if (k >= DELETE_LAG) {
                        delete.setLong(1, 2 * (k - DELETE_LAG) + node);
                        delete.executeUpdate();
                    }
                    if (k % 5 == 0) {
                        hot.setInt(1, 1 + ThreadLocalRandom.current().nextInt(HOT_ROWS));
                        hot.executeUpdate();
                    }
                    c.commit();
                    committed.incrementAndGet();
                    k++;
                }
            } catch (java.sql.SQLException e) {
                // the transaction is lost with its connection (a server that was stopped): k is not advanced
                sleepQuietly(1000);
                next = System.nanoTime();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String sample(long at, long pid, String base) throws Exception {
        String m = RunProcess.get(base + "/metrics");
        return String.format("| %d | %.0f | %.0f | %.0f | %s | %s | %s | %s | %.0f / %.0f |", at, rssKb(pid) / 1024.0,
                sum(m, "jvm_memory_used_bytes", "area=\"heap\"") / 1048576, sum(m, "pgmesh_replication_lag_bytes", "")
                        / 1024, pair(m, "pgmesh_control_table_rows", "conflicts", 1),
                pair(m, "pgmesh_control_table_rows", "tombstones", 1), pair(m, "pgmesh_control_table_bytes",
                        "tombstones", 1024), pair(m, "pgmesh_control_table_rows", "apply_errors", 1),
                sum(m, "pgmesh_retention_round_seconds", "node=\"east\"") * 1000,
                sum(m, "pgmesh_retention_round_seconds", "node=\"west\"") * 1000);
    }

    private static String pair(String metrics, String name, String table, double unit) {
        return String.format("%.0f / %.0f", sum(metrics, name, "node=\"east\",table=\"" + table + "\"") / unit,
                sum(metrics, name, "node=\"west\",table=\"" + table + "\"") / unit);
    }

    /** The sum of the samples of {@code name} whose labels contain {@code labels}. */
    private static double sum(String metrics, String name, String labels) {
        double total = 0;
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$").matcher(metrics);
        while (m.find()) {
            if (labels.isEmpty() || (m.group(1) != null && m.group(1).contains(labels))) {
                total += Double.parseDouble(m.group(2));
            }
        }
        return total;
    }

    private static long rssKb(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    private boolean same(String sql) throws Exception {
        return Db.str(servers.get(0), DB, sql).equals(Db.str(servers.get(1), DB, sql));
    }

}
