package io.pgmesh.bench;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One way of getting the source's changes into a target database, which the benchmark can start,
 * stop and watch: the target's replication origin says how far it has applied.
 */
abstract class Replicator {
    final String label;
    final EmbeddedPostgres source;
    final String sourceDb;
    final EmbeddedPostgres target;
    final String targetDb;
    final String slot;

    Replicator(String label, EmbeddedPostgres source, String sourceDb, EmbeddedPostgres target, String targetDb,
               String slot) {
        this.label = label;
        this.source = source;
        this.sourceDb = sourceDb;
        this.target = target;
        this.targetDb = targetDb;
        this.slot = slot;
    }

    /** Name of the replication origin the target applies under. */
    abstract String origin() throws SQLException;

    /** Starts applying; returns at once. */
    abstract void start() throws Exception;

    /** Stops applying and returns once nothing of it runs any more (slot released). */
    abstract void stop() throws Exception;

    /** Throws when the replicator died on its own. */
    void checkAlive() throws Exception {
    }

    /** Pid of the target backend that applies, or -1. */
    abstract long applyPid(Connection targetConn) throws SQLException;

    long walsenderPid(Connection sourceConn) throws SQLException {
        return Db.num(sourceConn, -1, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?", slot);
    }

    /** The origin's remote_lsn (0/0 when it has none yet). */
    String progress(Connection targetConn) throws SQLException {
        String s = Db.str(targetConn, "SELECT remote_lsn::text FROM pg_replication_origin_status WHERE external_id = ?",
                origin());
        return s == null ? "0/0" : s;
    }

    void waitSlotInactive() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        try (Connection c = Db.open(source, sourceDb)) {
            while (Db.num(c, 0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = ? AND active", slot) > 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("slot " + slot + " still active 60 s after stopping " + label);
                }
                Thread.sleep(50);
            }
        }
    }

    /** PostgreSQL's own logical replication: a subscription in the target database, enabled or disabled. */
    static final class Native extends Replicator {
        static final String SUBSCRIPTION = "native_sub";
        private String origin;

        Native(EmbeddedPostgres source, String sourceDb, EmbeddedPostgres target, String targetDb) {
            super("native", source, sourceDb, target, targetDb, SUBSCRIPTION);
        }

        @Override
        String origin() throws SQLException {
            if (origin == null) {
                origin = "pg_" + Db.str(target, targetDb, "SELECT oid FROM pg_subscription WHERE subname = ?", SUBSCRIPTION);
            }
            return origin;
        }

        @Override
        void start() throws SQLException {
            Db.exec(target, targetDb, "ALTER SUBSCRIPTION " + SUBSCRIPTION + " ENABLE");
        }

        @Override
        void stop() throws Exception {
            Db.exec(target, targetDb, "ALTER SUBSCRIPTION " + SUBSCRIPTION + " DISABLE");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            try (Connection c = Db.open(target, targetDb)) {
                while (Db.num(c, 0, "SELECT count(*) FROM pg_stat_subscription WHERE subname = ? AND pid IS NOT NULL",
                        SUBSCRIPTION) > 0) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("apply worker of " + SUBSCRIPTION + " still running 60 s after DISABLE");
                    }
                    Thread.sleep(50);
                }
            }
            waitSlotInactive();
        }

        @Override
        long applyPid(Connection targetConn) throws SQLException {
            return Db.num(targetConn, -1, "SELECT pid FROM pg_stat_subscription WHERE subname = ? AND relid IS NULL",
                    SUBSCRIPTION);
        }
    }

    /** pgmesh: {@code java -Xmx.. -jar pgmesh.jar run -c mesh.yaml} as a process of its own. */
    static final class Mesh extends Replicator {
        static final String SOURCE_NODE = "source";
        static final String TARGET_NODE = "target";

        private final Path jar;
        private final Path meshFile;
        private final Path logDir;
        private final String xmx;
        private Process process;
        private Path log;
        private int seq;
        private long startedNanos;
        private long lastLogCheck;
        final List<String> logs = new ArrayList<>();

        Mesh(EmbeddedPostgres source, String sourceDb, EmbeddedPostgres target, String targetDb, Path jar, Path logDir,
             String xmx) throws IOException {
            this(source, sourceDb, target, targetDb, jar, logDir, xmx, source.port(), target.port());
        }

        /** {@code sourcePort}, {@code targetPort}: where pgmesh reaches them, a delaying proxy's port across a link. */
        Mesh(EmbeddedPostgres source, String sourceDb, EmbeddedPostgres target, String targetDb, Path jar, Path logDir,
             String xmx, int sourcePort, int targetPort) throws IOException {
            super("pgmesh", source, sourceDb, target, targetDb, "pgmesh_" + SOURCE_NODE + "_" + TARGET_NODE);
            this.jar = jar;
            this.logDir = logDir;
            this.xmx = xmx;
            this.meshFile = logDir.resolve("mesh.yaml");
            Files.writeString(meshFile, """
                    nodes:
                      - name: %s
                        host: 127.0.0.1
                        port: %d
                        database: %s
                        user: postgres
                        sslmode: disable
                      - name: %s
                        host: 127.0.0.1
                        port: %d
                        database: %s
                        user: postgres
                        sslmode: disable
                    tables:
                      include: ["public.*"]
                    """.formatted(SOURCE_NODE, sourcePort, sourceDb, TARGET_NODE, targetPort, targetDb));
        }

        Path meshFile() {
            return meshFile;
        }

        /** {@code BENCH_RUN_ARGS}: more arguments of {@code run}, e.g. {@code --http 127.0.0.1:9187}. */
        List<String> command() {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + xmx, "-jar", jar.toString(), "run", "-c",
                    meshFile.toString()));
            String extra = System.getenv().getOrDefault("BENCH_RUN_ARGS", "").trim();
            if (!extra.isEmpty()) {
                cmd.addAll(List.of(extra.split("\\s+")));
            }
            return cmd;
        }

        @Override
        String origin() {
            return "pgmesh_" + SOURCE_NODE;
        }

        /** Starts the process, its output in {@code pgmesh-<n>-<tag>.log}. */
        void start(String tag) throws IOException {
            if (process != null && process.isAlive()) {
                throw new IllegalStateException("pgmesh is already running");
            }
            log = logDir.resolve(String.format("pgmesh-%02d-%s.log", ++seq, tag));
            logs.add(log.getFileName().toString());
            ProcessBuilder pb = new ProcessBuilder(command()).directory(logDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            startedNanos = System.nanoTime();
            process = pb.start();
            Scraper.startFor(command(), process);
        }

        @Override
        void start() throws IOException {
            start("run");
        }

        long startedNanos() {
            return startedNanos;
        }

        long pid() {
            return process == null ? -1 : process.pid();
        }

        boolean alive() {
            return process != null && process.isAlive();
        }

        /**
         * Fails when the process died, or when its log shows a task retrying or failing: a measurement
         * that includes a retry back-off measures nothing. The log is read at most once a second.
         */
        @Override
        void checkAlive() throws IOException {
            if (process != null && !process.isAlive()) {
                throw new IllegalStateException("pgmesh exited with " + process.exitValue() + "; last lines of " + log
                        + ":\n" + tail(30));
            }
            long now = System.nanoTime();
            if (log == null || now - lastLogCheck < 1_000_000_000L) {
                return;
            }
            lastLogCheck = now;
            for (String line : Files.readAllLines(log)) {
                if (line.contains(" pgmesh.task - ") && (line.contains(" WARN ") || line.contains(" ERROR "))) {
                    throw new IllegalStateException("pgmesh task trouble, see " + log + ":\n" + line);
                }
            }
        }

        /** SIGTERM, as a user stops it; SIGKILL after 30 s. Returns the exit code. */
        @Override
        void stop() throws Exception {
            if (process == null) {
                return;
            }
            int code;
            if (process.isAlive()) {
                process.destroy(); // SIGTERM
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    throw new IllegalStateException("pgmesh did not stop within 30 s of SIGTERM (killed)");
                }
            }
            code = process.exitValue();
            process = null;
            if (code != 0) {
                throw new IllegalStateException("pgmesh exited with " + code + " on SIGTERM; see " + log);
            }
            waitSlotInactive();
        }

        void kill() {
            if (process != null) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }

        Path log() {
            return log;
        }

        String tail(int lines) throws IOException {
            if (log == null || !Files.exists(log)) {
                return "";
            }
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        }

        /** Lines of all logs of this run at WARN or ERROR. */
        List<String> problems() throws IOException {
            List<String> out = new ArrayList<>();
            for (String name : logs) {
                for (String line : Files.readAllLines(logDir.resolve(name))) {
                    if (line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("Exception")) {
                        out.add(name + ": " + line);
                    }
                }
            }
            return out;
        }

        @Override
        long applyPid(Connection targetConn) throws SQLException {
            return Db.num(targetConn, -1, "SELECT pid FROM pg_stat_activity WHERE application_name = ? AND datname = ?",
                    "pgmesh apply " + SOURCE_NODE + "->" + TARGET_NODE, targetDb);
        }
    }
}
