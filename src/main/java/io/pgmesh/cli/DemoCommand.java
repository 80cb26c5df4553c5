package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TableSelection;
import io.pgmesh.embedded.EmbeddedPostgres;
import io.pgmesh.check.Finding;
import io.pgmesh.check.FindingReport;
import io.pgmesh.check.Preflight;
import io.pgmesh.ids.SequencePartitioner;
import io.pgmesh.monitor.CatchUp;
import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusReader;
import io.pgmesh.pg.Lsn;
import io.pgmesh.setup.Initializer;
import io.pgmesh.validate.ReportText;
import io.pgmesh.validate.ValidateOptions;
import io.pgmesh.validate.ValidationReport;
import io.pgmesh.validate.Validator;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import io.pgmesh.task.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgmesh demo}: embedded nodes on loopback, a sample schema with rows on the first, check
 * and init (so the newcomer sees the initial load), replication in every direction while every
 * node takes writes, a live view of what travels, and a final comparison. Needs nothing but Java.
 */
@Command(name = "demo", description = "Start embedded PostgreSQL nodes, replicate between them under load, show it, compare.")
final class DemoCommand implements Callable<Integer> {
    private static final String[] NAMES = {"east", "west", "north"};

    @Option(names = "--nodes", defaultValue = "2", description = "2 or 3 nodes (default ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--seconds", defaultValue = "30", description = "how long every node takes writes (default ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--rate", defaultValue = "50", description = "transactions per second per node (default ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--keep", description = "leave the nodes and replication running; print how to connect")
    boolean keep;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (nodes < 2 || nodes > 3) {
            throw new ExitException(Main.USAGE, "demo: --nodes: expected 2 or 3, got " + nodes);
        }
        if (seconds < 1 || rate < 1) {
            throw new ExitException(Main.USAGE, "demo: --seconds and --rate must be at least 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path work = Files.createTempDirectory("pgmesh-demo-");
        // Ctrl-C (or a TERM) interrupts the demo instead of ending the JVM at once, so that the
        // finally below stops the nodes and removes their data directories in every case.
        Thread main = Thread.currentThread();
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> main.interrupt());
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> main.interrupt());
        String password = generatedPassword();
        List<EmbeddedPostgres> servers = new ArrayList<>();
        MeshRunner runner = null;
        try {
            out.printf("Starting %d embedded PostgreSQL %s nodes in %s%n", nodes, EmbeddedPostgres.DEFAULT_VERSION, work);
            out.flush();
            for (int i = 0; i < nodes; i++) {
                EmbeddedPostgres pg = EmbeddedPostgres.start(EmbeddedPostgres.DEFAULT_VERSION, work.resolve(NAMES[i]), Map.of());
                servers.add(pg);
                pg.requirePassword(password);
                pg.createDatabase("app");
                if (i == 0) {
                    DemoWorkload.createSchema(pg.connect("app"));
                }
                out.printf("  node %-5s 127.0.0.1:%d  %s%n", NAMES[i], pg.port(),
                        i == 0 ? "sample schema: 20,000 customers, 60,000 orders" : "empty database");
            }
            MeshConfig mesh = meshOf(servers, password);
            out.println();
            out.println("$ pgmesh check      (preflight: settings, roles, tables, keys)");
            List<Finding> findings = Preflight.run(mesh);
            findings.stream().filter(Finding::isError).forEach(f -> out.println("  " + f.code() + ": " + f.what()));
            out.println("  " + FindingReport.summary(findings));
            if (findings.stream().anyMatch(Finding::isError)) {
                return Main.FAILED;
            }
            out.println();
            out.println("$ pgmesh init       (" + NAMES[0] + " seeds the empty nodes from one snapshot)");
            out.flush();
            if (!new Initializer(mesh, 2, out, System.console() != null).run()) {
                return Main.FAILED;
            }
            out.println();
            out.println("$ pgmesh ids partition   (each node draws its keys from its own slice of every sequence)");
            new SequencePartitioner(mesh, SequencePartitioner.defaultSlots(nodes), out).run(false);
            out.println();
            out.println("$ pgmesh run");
            runner = new MeshRunner(mesh, new RetryPolicy(Duration.ofMillis(500), Duration.ofSeconds(5)));
            runner.start();
            CatchUp.await(mesh, Duration.ofSeconds(60));
            out.printf("Replication running: %d tasks (every node to every other). Writing %d txn/s on every node for %d s.%n",
                    runner.tasks().size(), rate, seconds);
            out.flush();
            try (DemoWorkload load = DemoWorkload.start(servers, rate)) {
                watch(runner, mesh, out, seconds);
            }
            CatchUp.await(mesh, Duration.ofSeconds(60));
            out.println();
            out.println("$ pgmesh validate   (writes stopped; every table compared on every node)");
            ValidationReport report = Validator.run(mesh, ValidateOptions.defaults());
            ReportText.print(report, out);
            boolean same = report.identical();
            out.println(same ? "All nodes hold the same rows." : "The nodes differ: this is a bug, please report it.");
            out.flush();
            if (keep) {
                keepRunning(servers, password, work, out);
            }
            return same ? Main.OK : Main.FAILED;
        } catch (InterruptedException e) {
            out.println();
            out.println("Interrupted: stopping the nodes and removing " + work);
            out.flush();
            return Main.OK;
        } finally {
            if (runner != null) {
                runner.close();
            }
            servers.forEach(EmbeddedPostgres::close);
            deleteQuietly(work);
        }
    }

    /**
     * One line per second and task: rows applied, latency from source commit to target commit, and
     * how far the target's applied position is behind the source's newest WAL.
     */
    private void watch(MeshRunner runner, MeshConfig mesh, PrintWriter out, int seconds) throws InterruptedException {
        Map<String, Long> before = new HashMap<>();
        for (int s = 1; s <= seconds; s++) {
            Thread.sleep(1000);
            Map<String, Long> lag = new HashMap<>();
            for (MeshStatus.TaskStatus ts : StatusReader.read(mesh).tasks()) {
                if (ts.sourceCurrentLsn() != null && ts.originProgress() != null) {
                    lag.put(ts.task(), Math.max(0, Lsn.parse(ts.sourceCurrentLsn()).minus(Lsn.parse(ts.originProgress()))));
                }
            }
            out.printf("%3ds%n", s);
            for (Task t : runner.tasks()) {
                long total = t.metrics().appliedRows();
                long delta = total - before.getOrDefault(t.spec().name(), 0L);
                before.put(t.spec().name(), total);
                Histogram h = t.metrics().takeLatencyInterval();
                Long bytes = lag.get(t.spec().name());
                out.printf("     %-12s %5d rows/s  latency p50 %5.1f ms p99 %5.1f ms  behind %s%n", t.spec().name(), delta,
                        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
                        bytes == null ? "-" : bytes < 1024 ? bytes + " B" : bytes / 1024 + " kB");
            }
            out.flush();
        }
    }

    private static void keepRunning(List<EmbeddedPostgres> servers, String password, Path work, PrintWriter out)
            throws InterruptedException, IOException {
        // The password goes to a file only the user can read, never to the terminal or a log.
        Path passFile = work.resolve("pgpass");
        StringBuilder lines = new StringBuilder();
        for (EmbeddedPostgres pg : servers) {
            lines.append("127.0.0.1:").append(pg.port()).append(":*:postgres:").append(password).append('\n');
        }
        Files.writeString(passFile, lines);
        Files.setPosixFilePermissions(passFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        out.println("Nodes keep running with replication on; every connection needs the generated password in "
                + passFile + ". Connect with for example:");
        for (int i = 0; i < servers.size(); i++) {
            out.printf("  PGPASSFILE=%s psql -h 127.0.0.1 -p %d -U postgres app     # %s%n", passFile,
                    servers.get(i).port(), NAMES[i]);
        }
        out.println("Press Ctrl-C to stop and remove them.");
        out.flush();
        Thread.currentThread().join();
    }

    private static MeshConfig meshOf(List<EmbeddedPostgres> servers, String password) {
        List<NodeConfig> nodes = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            nodes.add(new NodeConfig(NAMES[i], "127.0.0.1", servers.get(i).port(), "app", "postgres",
                    Secret.of(password), "disable"));
        }
        return new MeshConfig(nodes, TableSelection.defaults(), NAMES[0]);
    }

    /** 144 random bits, in characters that need no quoting anywhere. */
    private static String generatedPassword() {
        byte[] bytes = new byte[18];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private static void deleteQuietly(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
