package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TableSelection;
import io.pgmesh.embedded.EmbeddedPostgres;
import io.pgmesh.pg.Lsn;
import io.pgmesh.setup.MeshState;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import io.pgmesh.topology.Names;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Real PostgreSQL servers for one test class: one per node, each with a database {@code app},
 * and the mesh file that ties them. Waits synchronise on LSNs, never on sleeps.
 */
public final class PgCluster implements AutoCloseable {
    public static final String DB = "app";
    private static final String[] NAMES = {"east", "west", "north", "south"};

    private final List<EmbeddedPostgres> servers = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final List<MeshRunner> runners = new ArrayList<>();

    private PgCluster() {
    }

    /** Servers of the given versions (e.g. "17.5.0"), in node order east, west, north. */
    public static PgCluster start(List<String> versions, Map<String, String> settings) throws IOException, SQLException {
        PgCluster c = new PgCluster();
        try {
            for (int i = 0; i < versions.size(); i++) {
                Path dir = Files.createTempDirectory("pgmesh-it-");
                EmbeddedPostgres pg = EmbeddedPostgres.start(versions.get(i), dir, settings);
                c.servers.add(pg);
                c.names.add(NAMES[i]);
                pg.createDatabase(DB);
            }
            return c;
        } catch (IOException | SQLException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    public static PgCluster start(int nodes) throws IOException, SQLException {
        return start(defaultVersions(nodes), Map.of());
    }

    /** The suite's default server version; PGMESH_TEST_PG overrides it (15.13.0, 17.5.0, 18.1.0). */
    public static String defaultVersion() {
        String v = System.getProperty("pgmesh.test.pg", System.getenv("PGMESH_TEST_PG"));
        return v == null || v.isBlank() ? EmbeddedPostgres.DEFAULT_VERSION : v;
    }

    public static List<String> defaultVersions(int nodes) {
        List<String> v = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            v.add(defaultVersion());
        }
        return v;
    }

    public int size() {
        return servers.size();
    }

    public EmbeddedPostgres server(int i) {
        return servers.get(i);
    }

    public String name(int i) {
        return names.get(i);
    }

    /**
     * A session as the tests' own set-up uses it: schema changes made in it stay on this node
     * ({@code pgmesh.ddl_capture = off}), as the scenarios written before DDL replication assume.
     */
    public Connection connect(int i) throws SQLException {
        Connection c = servers.get(i).connect(DB);
        try (Statement st = c.createStatement()) {
            st.execute("SET pgmesh.ddl_capture = off");
        }
        return c;
    }

    /** An application's session: its schema changes are replicated. */
    public Connection connectApp(int i) throws SQLException {
        return servers.get(i).connect(DB);
    }

    /** Runs {@code sql} as an application would: schema changes in it are replicated. */
    public void appSql(int node, String sql) throws SQLException {
        try (Connection c = connectApp(node); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    public MeshConfig config() {
        return config(TableSelection.defaults());
    }

    public MeshConfig config(TableSelection tables) {
        List<NodeConfig> nodes = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            nodes.add(new NodeConfig(names.get(i), "127.0.0.1", servers.get(i).port(), DB, "postgres", Secret.NONE,
                    "disable"));
        }
        return new MeshConfig(nodes, tables);
    }

    /** The mesh file a user would write for these servers. */
    public Path writeMeshFile(Path dir) throws IOException {
        StringBuilder y = new StringBuilder("nodes:\n");
        for (int i = 0; i < servers.size(); i++) {
            y.append("  - name: ").append(names.get(i)).append('\n')
                    .append("    host: 127.0.0.1\n")
                    .append("    port: ").append(servers.get(i).port()).append('\n')
                    .append("    database: ").append(DB).append('\n')
                    .append("    user: postgres\n")
                    .append("    sslmode: disable\n");
        }
        y.append("tables:\n  include: [\"public.*\"]\n");
        Path file = dir.resolve("mesh.yaml");
        Files.writeString(file, y.toString());
        return file;
    }

    /** Runs the same SQL on every node (schema set-up: the heart issue assumes identical tables). */
    public void sqlAll(String sql) throws SQLException {
        for (int i = 0; i < servers.size(); i++) {
            sql(i, sql);
        }
    }

    public void sql(int node, String sql) throws SQLException {
        try (Connection c = connect(node); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    public long count(int node, String sqlReturningOneNumber) throws SQLException {
        try (Connection c = connect(node); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sqlReturningOneNumber)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** {@link #count}, or -1 when the query failed: for a condition {@link #await} polls while a node may be down. */
    public long countOrMinusOne(int node, String sqlReturningOneNumber) {
        try {
            return count(node, sqlReturningOneNumber);
        } catch (SQLException e) {
            return -1;
        }
    }

    /** The whole table as text, ordered: what "identical on both nodes" means. */
    public String dump(int node, String table, String orderBy) throws SQLException {
        StringBuilder sb = new StringBuilder();
        try (Connection c = connect(node); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT t::text FROM " + table + " t ORDER BY " + orderBy)) {
            while (rs.next()) {
                sb.append(rs.getString(1)).append('\n');
            }
        }
        return sb.toString();
    }

    public Lsn currentLsn(int node) throws SQLException {
        try (Connection c = connect(node); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /**
     * Waits until every task has caught up with its source as of now: the target's origin has
     * applied up to the source's current LSN, or the slot has confirmed it (when the newest WAL
     * holds nothing to apply).
     */
    public void awaitCaughtUp(Duration timeout) throws Exception {
        Map<Integer, Lsn> marks = new HashMap<>();
        for (int i = 0; i < size(); i++) {
            marks.put(i, currentLsn(i));
        }
        for (int s = 0; s < size(); s++) {
            for (int t = 0; t < size(); t++) {
                if (s != t) {
                    awaitTask(s, t, marks.get(s), timeout);
                }
            }
        }
    }

    public void awaitTask(int source, int target, Lsn mark, Duration timeout) throws Exception {
        String slot = Names.slot(names.get(source), names.get(target));
        await(timeout, "task " + names.get(source) + "->" + names.get(target) + " to reach " + mark, () -> {
            try {
                if (originProgress(source, target).compareTo(mark) >= 0) {
                    return true;
                }
                Lsn confirmed = lsnQuery(source,
                        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'");
                return confirmed.compareTo(mark) >= 0;
            } catch (SQLException e) {
                return false;
            }
        });
    }

    private Lsn lsnQuery(int node, String sql) throws SQLException {
        try (Connection c = connect(node); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (rs.next() && rs.getString(1) != null) {
                return Lsn.parse(rs.getString(1));
            }
            return Lsn.ZERO;
        }
    }

    /** Polls a condition every 20 ms; fails with {@code what} when it does not hold in time. */
    public static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }


    // ---------------------------------------------------------------------------------------------
    // Running the mesh in-process and reading what it did

    /** Retries that fit a test: a failed task tries again within seconds. */
    public static RetryPolicy testRetry() {
        return new RetryPolicy(Duration.ofMillis(200), Duration.ofSeconds(2));
    }

    /**
     * Starts every task of the mesh in this process ({@link #close()} stops them before the
     * servers) and returns once all tasks stream and have caught up. The tables must exist
     * already: a node's publication is reconciled once, when its first task starts.
     */
    public MeshRunner startMesh(TableSelection tables) throws Exception {
        return startMesh(config(tables));
    }

    /** As {@link #startMesh(TableSelection)}, for a mesh with settings of its own (conflicts, for example). */
    public MeshRunner startMesh(MeshConfig config) throws Exception {
        MeshRunner runner = new MeshRunner(config, testRetry());
        runners.add(runner);
        runner.start();
        awaitStreaming(runner, Duration.ofSeconds(60));
        awaitCaughtUp(Duration.ofSeconds(60));
        return runner;
    }

    /** Makes {@link #close()} stop {@code runner} before the servers; returns it. */
    public MeshRunner track(MeshRunner runner) {
        runners.add(runner);
        return runner;
    }

    public MeshRunner startMesh() throws Exception {
        return startMesh(TableSelection.defaults());
    }

    /** Waits until every task of {@code runner} is STREAMING. */
    public static void awaitStreaming(MeshRunner runner, Duration timeout) throws InterruptedException {
        await(timeout, "every task to stream", () -> runner.tasks().stream().allMatch(t -> t.state() == TaskState.STREAMING));
    }

    /** The tasks of {@code runner} that are not STREAMING, as "name=state", for assertion messages. */
    public static List<String> notStreaming(MeshRunner runner) {
        List<String> bad = new ArrayList<>();
        for (Task t : runner.tasks()) {
            if (t.state() != TaskState.STREAMING) {
                bad.add(t.spec().name() + "=" + t.state());
            }
        }
        return bad;
    }

    /**
     * Waits until replication has settled: every task caught up, then again, so that what was
     * applied during the first round (and anything it might echo) has travelled too.
     */
    public void awaitSettled(Duration timeout) throws Exception {
        awaitCaughtUp(timeout);
        awaitCaughtUp(timeout);
    }

    /** The origin progress of task source->target, as recorded on the target (ZERO before its first apply). */
    public Lsn originProgress(int source, int target) throws SQLException {
        try (Connection c = connect(target)) {
            return MeshState.originProgress(c, Names.origin(names.get(source)));
        }
    }

    /** The first column of the first row as text (null for SQL NULL or no row). */
    public String queryString(int node, String sql) throws SQLException {
        try (Connection c = connect(node); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** As {@link #queryString}, for polling: null also when the query fails. */
    public String queryStringOrNull(int node, String sql) {
        try {
            return queryString(node, sql);
        } catch (SQLException e) {
            return null;
        }
    }

    /** The first column of every row as text, in the query's order. */
    public List<String> queryColumn(int node, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = connect(node); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * The walsender process serving each pgmesh slot, by slot name (null while the slot has no
     * reader). A task that reconnects gets a new walsender, so an unchanged pid means the task
     * streamed without interruption.
     */
    public Map<String, String> walsenderPids() throws SQLException {
        Map<String, String> pids = new java.util.TreeMap<>();
        for (int n = 0; n < size(); n++) {
            try (Connection c = connect(n); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT slot_name, active_pid FROM pg_replication_slots WHERE slot_name LIKE 'pgmesh\\_%'")) {
                while (rs.next()) {
                    pids.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return pids;
    }

    /** An LSN-valued query (ZERO for NULL or no row). */
    public Lsn lsn(int node, String sql) throws SQLException {
        return lsnQuery(node, sql);
    }

    /** Every process of node {@code i}'s server, the postmaster first. */
    private List<String> serverPids(int i) throws IOException {
        long postmaster = Long.parseLong(Files.readAllLines(server(i).dataDir().resolve("postmaster.pid")).get(0).strip());
        List<String> pids = new ArrayList<>();
        pids.add(Long.toString(postmaster));
        ProcessHandle.of(postmaster).ifPresent(p -> p.descendants().forEach(d -> pids.add(Long.toString(d.pid()))));
        return pids;
    }

    /** Signals every process of the server; one that has just exited (a backend that ended) is no failure. */
    private void signal(String sig, int node) throws Exception {
        List<String> pids = serverPids(node);
        for (String pid : pids) {
            Process p = new ProcessBuilder("kill", "-" + sig, pid).redirectErrorStream(true).start();
            int code = p.waitFor();
            if (pid.equals(pids.get(0))) {
                assertEquals(0, code, "kill -" + sig + " of node " + name(node) + "'s postmaster");
            }
        }
    }

    /** SIGSTOP to every process of node {@code node}'s server: it accepts connections and answers nothing. */
    public void freeze(int node) throws Exception {
        signal("STOP", node);
    }

    public void thaw(int node) throws Exception {
        signal("CONT", node);
    }

    @Override
    public void close() {
        for (MeshRunner r : runners) {
            r.close();
        }
        for (EmbeddedPostgres pg : servers) {
            pg.close();
        }
    }
}
