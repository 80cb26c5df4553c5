package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A source transaction is one target transaction, applied in source commit order: a reader on the
 * target, polling while transfers stream in, never sees money half moved or a later transaction
 * without an earlier one.
 */
@Timeout(120)
class AtomicOrderedApplyIT {
    private static final int ACCOUNTS = 20;
    private static final int WALLETS = 10;
    private static final long ACCOUNT_TOTAL = ACCOUNTS * 1000L;
    private static final long WALLET_TOTAL = 2 * WALLETS * 500L;
    private static final int WRITERS = 2;
    private static final int TXNS_PER_WRITER = 1000;

    /** One snapshot of the invariants, read on the target in a single statement. */
    private static final String SNAPSHOT = """
            SELECT (SELECT sum(balance) FROM accounts),
                   (SELECT sum(balance) FROM wallet_a) + (SELECT sum(balance) FROM wallet_b),
                   (SELECT n FROM counter),
                   (SELECT count(*) FROM ledger),
                   (SELECT coalesce(max(n), 0) FROM ledger)
            """;

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
        cluster.sqlAll("CREATE TABLE wallet_a (id int PRIMARY KEY, balance bigint NOT NULL)");
        cluster.sqlAll("CREATE TABLE wallet_b (id int PRIMARY KEY, balance bigint NOT NULL)");
        cluster.sqlAll("CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)");
        cluster.sqlAll("CREATE TABLE ledger (n bigint PRIMARY KEY, amount bigint NOT NULL)");
        runner = cluster.startMesh();
    }

    @Test
    void readerOnTargetNeverSeesAHalfAppliedOrOutOfOrderTransaction() throws Exception {
        cluster.sql(0, "INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, " + ACCOUNTS + ") g");
        cluster.sql(0, "INSERT INTO wallet_a SELECT g, 500 FROM generate_series(1, " + WALLETS + ") g");
        cluster.sql(0, "INSERT INTO wallet_b SELECT g, 500 FROM generate_series(1, " + WALLETS + ") g");
        cluster.sql(0, "INSERT INTO counter VALUES (1, 0)");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(ACCOUNT_TOTAL, cluster.count(1, "SELECT sum(balance) FROM accounts"),
                "the opening balances must be on west before the transfers start");

        AtomicBoolean writing = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 1);
        try {
            Future<ReaderReport> reader = pool.submit(() -> read(writing));
            List<Future<Integer>> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                writers.add(pool.submit(AtomicOrderedApplyIT::transfer));
            }
            for (Future<Integer> w : writers) {
                assertEquals(TXNS_PER_WRITER, w.get(), "every transfer on east must commit");
            }
            cluster.awaitCaughtUp(Duration.ofSeconds(60));
            writing.set(false);
            ReaderReport report = reader.get();

            assertEquals(List.of(), report.violations,
                    "west must never show a transfer half applied, nor a transaction without every one before it");
            assertTrue(report.snapshots > 50, "the reader must have polled west throughout the load, polled only "
                    + report.snapshots + " times");
            assertTrue(report.intermediateStates > 10, "the reader must have seen west while the transfers streamed in,"
                    + " saw only " + report.intermediateStates + " states strictly between start and end");
        } finally {
            pool.shutdownNow();
        }
        long total = (long) WRITERS * TXNS_PER_WRITER;
        assertEquals(total, cluster.count(1, "SELECT n FROM counter"), "west must have applied every transfer");
        for (String table : List.of("accounts", "wallet_a", "wallet_b", "counter", "ledger")) {
            assertEquals(cluster.dump(0, table, "1"), cluster.dump(1, table, "1"),
                    table + " must end identical on both nodes");
        }
    }

    /**
     * One writer on east: moves money between two accounts and between the two wallet tables, and
     * numbers the transaction with the counter, whose row lock makes the numbers follow commit order.
     * Locks are taken in one global order (accounts by id, wallet_a, wallet_b, counter): no deadlocks.
     */
    private static int transfer() throws Exception {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int committed = 0;
        try (Connection c = cluster.connect(0);
             PreparedStatement acct = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
             PreparedStatement wa = c.prepareStatement("UPDATE wallet_a SET balance = balance + ? WHERE id = ?");
             PreparedStatement wb = c.prepareStatement("UPDATE wallet_b SET balance = balance + ? WHERE id = ?");
             PreparedStatement next = c.prepareStatement("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n");
             PreparedStatement log = c.prepareStatement("INSERT INTO ledger VALUES (?, ?)")) {
            c.setAutoCommit(false);
            for (int i = 0; i < TXNS_PER_WRITER; i++) {
                int from = 1 + rnd.nextInt(ACCOUNTS);
                int to = 1 + (from + rnd.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
                long amount = 1 + rnd.nextInt(100);
                update(acct, Math.min(from, to), from < to ? -amount : amount);
                update(acct, Math.max(from, to), from < to ? amount : -amount);
                long moved = rnd.nextBoolean() ? amount : -amount;
                update(wa, 1 + rnd.nextInt(WALLETS), -moved);
                update(wb, 1 + rnd.nextInt(WALLETS), moved);
                long n;
                try (ResultSet rs = next.executeQuery()) {
                    rs.next();
                    n = rs.getLong(1);
                }
                log.setLong(1, n);
                log.setLong(2, amount);
                log.executeUpdate();
                c.commit();
                committed++;
            }
        }
        return committed;
    }

    private static void update(PreparedStatement ps, int id, long delta) throws Exception {
        ps.setLong(1, delta);
        ps.setInt(2, id);
        assertEquals(1, ps.executeUpdate(), "row " + id + " must exist on east");
    }

    private record ReaderReport(int snapshots, int intermediateStates, List<String> violations) {
    }

    /** Polls west in single-statement snapshots until the writers are done and west has caught up. */
    private static ReaderReport read(AtomicBoolean writing) throws Exception {
        int snapshots = 0;
        Set<Long> seen = new HashSet<>();
        List<String> violations = new ArrayList<>();
        long total = (long) WRITERS * TXNS_PER_WRITER;
        try (Connection c = cluster.connect(1); Statement st = c.createStatement()) {
            while (writing.get() && violations.size() < 5) {
                try (ResultSet rs = st.executeQuery(SNAPSHOT)) {
                    rs.next();
                    long accounts = rs.getLong(1);
                    long wallets = rs.getLong(2);
                    long n = rs.getLong(3);
                    long count = rs.getLong(4);
                    long max = rs.getLong(5);
                    snapshots++;
                    if (n > 0 && n < total) {
                        seen.add(n);
                    }
                    if (accounts != ACCOUNT_TOTAL || wallets != WALLET_TOTAL || count != n || max != n) {
                        violations.add("accounts sum " + accounts + " (want " + ACCOUNT_TOTAL + "), wallets sum "
                                + wallets + " (want " + WALLET_TOTAL + "), counter " + n + ", ledger has " + count
                                + " rows up to " + max);
                    }
                }
            }
        }
        return new ReaderReport(snapshots, seen.size(), violations);
    }
}
