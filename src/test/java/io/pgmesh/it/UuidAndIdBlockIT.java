package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.ids.IdBlockAllocator;
import io.pgmesh.ids.RegionalUuid;
import io.pgmesh.setup.ControlSchema;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The SQL side of the ID helpers on real servers: {@code pgmesh.uuid_v7} on two nodes decodes with
 * the Java decoder to each node's region and its time, and {@code pgmesh.id_block} hands
 * concurrent callers blocks that never overlap.
 */
@Timeout(120)
class UuidAndIdBlockIT {
    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        for (int i = 0; i < cluster.size(); i++) {
            try (Connection c = cluster.connect(i)) {
                ControlSchema.ensure(c);
            }
        }
    }

    /** Values of one query in the order the server made them, with the server's clock around them. */
    record Made(Instant before, List<UUID> values, Instant after) {
    }

    private static Made make(int node, String expression, int count) throws SQLException {
        try (Connection c = cluster.connect(node); Statement st = c.createStatement()) {
            Instant before = serverNow(st);
            List<UUID> values = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT " + expression + " FROM generate_series(1, " + count + ")")) {
                while (rs.next()) {
                    values.add(rs.getObject(1, UUID.class));
                }
            }
            return new Made(before, values, serverNow(st));
        }
    }

    private static Instant serverNow(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")) {
            rs.next();
            return Instant.ofEpochMilli(rs.getLong(1));
        }
    }

    @Test
    void uuidV7FromSqlDecodesToEachNodesRegionAndTimeAndOrdersByTime() throws Exception {
        Made east = make(0, "pgmesh.uuid_v7(1::smallint)", 20_000);
        Made west = make(1, "pgmesh.uuid_v7(32767::smallint)", 20_000);
        for (Made m : List.of(east, west)) {
            int region = m == east ? 1 : 32767;
            UUID previous = null;
            for (UUID u : m.values()) {
                assertEquals(7, u.version(), "version of " + u);
                assertEquals(2, u.variant(), "variant of " + u);
                assertEquals(region, RegionalUuid.regionOf(u), "region of " + u);
                Instant at = RegionalUuid.instantOf(u);
                assertFalse(at.isBefore(m.before()) || at.isAfter(m.after()),
                        u + " says " + at + ", made between " + m.before() + " and " + m.after());
                if (previous != null) {
                    // Time and rand_a (the sub-millisecond fraction) together never go back.
                    assertTrue(Long.compareUnsigned(previous.getMostSignificantBits(), u.getMostSignificantBits()) <= 0,
                            u + " was made after " + previous + " and must not sort before it by its time bits");
                }
                previous = u;
            }
        }
        Set<UUID> all = new HashSet<>(east.values());
        all.addAll(west.values());
        assertEquals(40_000, all.size(), "no value repeats, within or across nodes");
    }

    @Test
    void uuidV7WithoutArgumentsTakesTheRegionOfTheDatabaseSoOneColumnDefaultServesEveryNode() throws Exception {
        cluster.sqlAll("CREATE TABLE events (id uuid PRIMARY KEY DEFAULT pgmesh.uuid_v7(), note text)");
        SQLException unset = assertThrows(SQLException.class, () -> cluster.sql(0, "INSERT INTO events (note) VALUES ('x')"));
        assertTrue(unset.getMessage().contains("pgmesh.region is not set"), "says what is missing: " + unset.getMessage());

        cluster.sql(0, "ALTER DATABASE app SET pgmesh.region = 10");
        cluster.sql(1, "ALTER DATABASE app SET pgmesh.region = 20");
        for (int node = 0; node < 2; node++) {
            cluster.sql(node, "INSERT INTO events (note) SELECT 'n' || g FROM generate_series(1, 1000) g");
            for (String id : cluster.queryColumn(node, "SELECT id FROM events")) {
                assertEquals(node == 0 ? 10 : 20, RegionalUuid.regionOf(UUID.fromString(id)),
                        "the default on node " + cluster.name(node) + " must use that database's region: " + id);
            }
        }
    }

    @Test
    void aRegionOutsideTheRangeIsRefused() {
        SQLException e = assertThrows(SQLException.class, () -> cluster.sql(0, "SELECT pgmesh.uuid_v7((-1)::smallint)"));
        assertTrue(e.getMessage().contains("region must be 0..32767, got -1"), e.getMessage());
    }

    @Test
    void javaAndSqlValuesOfOneRegionInterleaveByTime() throws Exception {
        RegionalUuid java = new RegionalUuid(1);
        UUID fromJavaBefore = java.next();
        Made sql = make(0, "pgmesh.uuid_v7(1::smallint)", 1);
        UUID fromJavaAfter = java.next();
        UUID fromSql = sql.values().get(0);
        // Both clocks are this machine's; only the millisecond is compared, the rest differs by design.
        assertFalse(RegionalUuid.instantOf(fromSql).isBefore(RegionalUuid.instantOf(fromJavaBefore)));
        assertFalse(RegionalUuid.instantOf(fromSql).isAfter(RegionalUuid.instantOf(fromJavaAfter)));
    }

    @Test
    void idBlockHandsOutConsecutiveBlocksAndRefusesAnEmptyOne() throws Exception {
        assertEquals("[1,11)", cluster.queryString(0, "SELECT pgmesh.id_block('plain', 10)"));
        assertEquals("[11,14)", cluster.queryString(0, "SELECT pgmesh.id_block('plain', 3)"));
        assertEquals("[1,6)", cluster.queryString(0, "SELECT pgmesh.id_block('other', 5)"), "names count separately");
        SQLException e = assertThrows(SQLException.class, () -> cluster.sql(0, "SELECT pgmesh.id_block('plain', 0)"));
        assertTrue(e.getMessage().contains("size must be at least 1, got 0"), e.getMessage());
    }

    @Test
    void concurrentCallersOfIdBlockGetDisjointBlocksThatTogetherLeaveNoGap() throws Exception {
        int threads = 8;
        int callsEach = 150;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Callable<List<long[]>>> callers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                callers.add(() -> {
                    List<long[]> got = new ArrayList<>();
                    try (Connection c = cluster.connect(0); Statement st = c.createStatement()) {
                        for (int i = 0; i < callsEach; i++) {
                            int size = ThreadLocalRandom.current().nextInt(1, 50);
                            try (ResultSet rs = st.executeQuery(
                                    "SELECT lower(r), upper(r) FROM pgmesh.id_block('concurrent', " + size + ") r")) {
                                rs.next();
                                got.add(new long[] {rs.getLong(1), rs.getLong(2)});
                                assertEquals(size, rs.getLong(2) - rs.getLong(1), "a block has the size asked for");
                            }
                        }
                    }
                    return got;
                });
            }
            List<long[]> blocks = new ArrayList<>();
            for (Future<List<long[]>> f : pool.invokeAll(callers)) {
                blocks.addAll(f.get());
            }
            blocks.sort((a, b) -> Long.compare(a[0], b[0]));
            long expectedStart = 1;
            for (long[] b : blocks) {
                assertEquals(expectedStart, b[0], "block [" + b[0] + "," + b[1] + ") must start where the previous"
                        + " ended: an overlap or a gap means two callers read the same counter");
                expectedStart = b[1];
            }
            assertEquals(threads * callsEach, blocks.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void allocatorsSharedByThreadsAndProcessesNeverHandOutANumberTwice() throws Exception {
        // Two allocators stand for two application processes using the same central node.
        IdBlockAllocator first = new IdBlockAllocator(() -> cluster.connect(0), "orders", 100);
        IdBlockAllocator second = new IdBlockAllocator(() -> cluster.connect(0), "orders", 37);
        int threads = 8;
        int each = 5_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Callable<List<Long>>> users = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                IdBlockAllocator a = t % 2 == 0 ? first : second;
                users.add(() -> {
                    List<Long> got = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        got.add(a.next());
                    }
                    return got;
                });
            }
            Set<Long> seen = new HashSet<>();
            List<Long> duplicates = new ArrayList<>();
            for (Future<List<Long>> f : pool.invokeAll(users)) {
                for (long n : f.get()) {
                    if (!seen.add(n)) {
                        duplicates.add(n);
                    }
                }
            }
            assertEquals(List.of(), duplicates, "numbers handed out twice");
            assertEquals(threads * each, seen.size());
            assertTrue(Collections.min(seen) >= 1, "numbers start at 1");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anAllocatorNamesItsCounterWhenTheCentralNodeHasNoIdBlock() throws Exception {
        cluster.sql(1, "CREATE DATABASE bare");
        IdBlockAllocator a = new IdBlockAllocator(() -> cluster.server(1).connect("bare"), "orders", 10);
        SQLException e = assertThrows(SQLException.class, a::next);
        assertTrue(e.getMessage().startsWith("id block \"orders\": pgmesh.id_block is not installed on this database"),
                e.getMessage());
    }

    @Test
    void ensureAddsTheIdFunctionsToAnInstallThatPredatesThem() throws Exception {
        try (Connection c = cluster.connect(1)) {
            assertFalse(ControlSchema.ensure(c), "a complete schema is left alone");
        }
        cluster.sql(1, "DROP FUNCTION pgmesh.uuid_v7(smallint) CASCADE; DROP FUNCTION pgmesh.uuid_v7() CASCADE;"
                + " DROP FUNCTION pgmesh.id_block(text, bigint)");
        try (Connection c = cluster.connect(1)) {
            assertTrue(ControlSchema.ensure(c), "an older install is missing the ID functions");
        }
        assertEquals(1, RegionalUuid.regionOf(UUID.fromString(cluster.queryString(1, "SELECT pgmesh.uuid_v7(1::smallint)"))));
        assertTrue(cluster.queryString(1, "SELECT pgmesh.id_block('after-upgrade', 1)").startsWith("["));
    }
}
