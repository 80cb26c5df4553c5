package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The system's pgbench (a client program; it talks to any server version it can connect to). */
final class Pgbench {
    static final String BIN = System.getenv().getOrDefault("BENCH_PGBENCH", "/usr/bin/pgbench");

    /** What one run of pgbench printed. */
    record Result(long transactions, double tps, double latencyMs, double wallSeconds, String output) {
    }

    private static final Pattern TXNS = Pattern.compile("number of transactions actually processed: (\\d+)");
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");
    private static final Pattern LATENCY = Pattern.compile("latency average = ([0-9.]+) ms");

    private Pgbench() {
    }

    static String version() {
        try {
            Process p = new ProcessBuilder(BIN, "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (IOException | InterruptedException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** Runs pgbench against {@code db} on {@code pg} with {@code args}; output goes to {@code log} too. */
    static Result run(EmbeddedPostgres pg, String db, Path log, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(BIN, "-h", pg.host(), "-p", String.valueOf(pg.port()), "-U", "postgres"));
        cmd.addAll(List.of(args));
        cmd.add(db);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(2, TimeUnit.HOURS)) {
            p.destroyForcibly();
            throw new IOException("pgbench did not finish: " + String.join(" ", cmd));
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        String out = Files.readString(log);
        if (p.exitValue() != 0) {
            throw new IOException("pgbench failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n" + out);
        }
        return new Result(find(TXNS, out, -1L), find(TPS, out, Double.NaN), find(LATENCY, out, Double.NaN), wall, out);
    }

    private static long find(Pattern p, String s, long dflt) {
        Matcher m = p.matcher(s);
        return m.find() ? Long.parseLong(m.group(1)) : dflt;
    }

    private static double find(Pattern p, String s, double dflt) {
        Matcher m = p.matcher(s);
        return m.find() ? Double.parseDouble(m.group(1)) : dflt;
    }
}
