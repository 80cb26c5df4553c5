package io.pgmesh.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.TableName;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The decisions of the checks that need no server: version, capacity arithmetic, sequences, shapes, report. */
@Timeout(10)
class CheckRulesTest {

    @Test
    void serversBefore14AreRefusedWithTheReason() {
        Finding f = ServerSettingsCheck.version("east", new ServerCapabilities(130012), "13.12").orElseThrow();
        assertEquals("server_version", f.code());
        assertTrue(f.isError(), "an old server is an error");
        assertTrue(f.what().contains("13.12") && f.why().contains("pg_xact_commit_timestamp_origin"), f.toString());
        assertTrue(ServerSettingsCheck.version("east", new ServerCapabilities(140000), "14.0").isEmpty(),
                "14.0 is the oldest version pgmesh runs on");
    }

    @Test
    void beforePg18MaxReplicationSlotsBoundsSlotsAndOriginsEachOnItsOwn() {
        // Three-node mesh: 2 slots as source, 2 origins as target, 1 slot of someone else.
        Capacity pg17 = new Capacity(2, 1, 0, 0, true);
        assertEquals(3, pg17.slotsNeeded(), "origins have their own array of max_replication_slots entries");
        assertEquals(List.of(), codes(CapacityCheck.findings("east", pg17, 3, 2, null)), "3 slots, 2 senders suffice");
        assertEquals(List.of("max_replication_slots"), codes(CapacityCheck.findings("east", pg17, 2, 2, null)));
        // 3 origins of others and the mesh's 2 do not fit 4 entries, although 3 slots do.
        Capacity origins = new Capacity(2, 1, 3, 0, true);
        List<Finding> f = CapacityCheck.findings("east", origins, 4, 2, null);
        assertEquals(List.of("max_replication_slots"), codes(f));
        assertTrue(f.get(0).what().contains("also bounds the replication origins") && f.get(0).fix().contains("= 5"),
                f.get(0).toString());
    }

    @Test
    void fromPg18OriginsHaveTheirOwnLimit() {
        Capacity pg18 = new Capacity(2, 0, 1, 0, false);
        assertEquals(2, pg18.slotsNeeded(), "origins do not take slots on 18");
        assertEquals(3, pg18.originsNeeded(), "two for the mesh, one origin of someone else");
        assertEquals(List.of(), codes(CapacityCheck.findings("east", pg18, 2, 2, 3)));
        assertEquals(List.of("max_active_replication_origins"), codes(CapacityCheck.findings("east", pg18, 2, 2, 2)));
    }

    @Test
    void walSendersOfOthersTakeRoom() {
        Capacity c = new Capacity(1, 0, 0, 2, true);
        assertEquals(List.of("max_wal_senders"), codes(CapacityCheck.findings("east", c, 10, 2, null)));
        assertTrue(CapacityCheck.findings("east", c, 10, 2, null).get(0).what().contains("2 in use by others"));
    }

    @Test
    void sequencesArePartitionedOnlyWithTheSameIncrementAtLeastTheMeshSizeAndDistinctResidues() {
        assertTrue(SequenceOverlapCheck.partitioned(seqs(2, 1, 2, 2), 2), "node 1 of 2 and node 2 of 2");
        assertTrue(SequenceOverlapCheck.partitioned(seqs(10, 101, 10, 52), 2), "residues 1 and 2 of 10");
        assertFalse(SequenceOverlapCheck.partitioned(seqs(1, 5, 1, 9), 2), "increment 1 overlaps");
        assertFalse(SequenceOverlapCheck.partitioned(seqs(2, 1, 2, 3), 2), "same residue: both odd");
        assertFalse(SequenceOverlapCheck.partitioned(seqs(2, 1, 3, 2), 2), "different increments drift into each other");
        assertFalse(SequenceOverlapCheck.partitioned(seqs(2, 1, 2, 2), 3), "increment 2 is too small for 3 nodes");
        Map<String, TableInfo.KeySequence> unreadable = new LinkedHashMap<>(seqs(2, 1, 2, 2));
        unreadable.put("west", new TableInfo.KeySequence("public.s", false, 2, null));
        assertFalse(SequenceOverlapCheck.partitioned(unreadable, 2), "a sequence we cannot read is not proven safe");
    }

    @Test
    void shapesAreComparedByColumnNameTypeAndKeySet() {
        TableInfo east = table(Map.of("id", "integer", "k", "text", "v", "text"), List.of("id", "k"));
        TableInfo sameInAnotherOrder = table(new LinkedHashMap<>(Map.of("v", "text", "k", "text", "id", "integer")),
                List.of("k", "id"));
        assertEquals(List.of(), TableShapeCheck.differences("east", east, "west", sameInAnotherOrder),
                "column order does not matter");
        TableInfo west = table(Map.of("id", "bigint", "k", "text", "extra", "date"), List.of("id"));
        List<String> d = TableShapeCheck.differences("east", east, "west", west);
        assertTrue(d.contains("column id is integer on east but bigint on west"), d.toString());
        assertTrue(d.contains("column v is missing on west"), d.toString());
        assertTrue(d.contains("column extra exists on west but not on east"), d.toString());
        assertTrue(d.stream().anyMatch(s -> s.startsWith("primary key is (id, k) on east but (id) on west")), d.toString());
    }

    @Test
    void theReportEndsWithASummary() {
        Finding e = Finding.error("east", "wal_level", "wal_level is replica, not logical", "why", "fix");
        Finding w = Finding.warning(null, "unlogged_table", "table public.t is UNLOGGED", "why", "fix");
        assertEquals("""
                ERROR east wal_level: wal_level is replica, not logical
                    why: why
                    fix: fix
                WARNING unlogged_table: table public.t is UNLOGGED
                    why: why
                    fix: fix
                1 error, 1 warning
                """, FindingReport.text(List.of(e, w)));
        assertEquals("no problems found: the mesh is ready for init\n", FindingReport.text(List.of()));
        assertEquals("0 errors, 2 warnings", FindingReport.summary(List.of(w, w)));
    }

    private static List<String> codes(List<Finding> findings) {
        return findings.stream().map(Finding::code).toList();
    }

    private static Map<String, TableInfo.KeySequence> seqs(long eastInc, long eastNext, long westInc, long westNext) {
        Map<String, TableInfo.KeySequence> m = new LinkedHashMap<>();
        m.put("east", new TableInfo.KeySequence("public.s", false, eastInc, BigInteger.valueOf(eastNext)));
        m.put("west", new TableInfo.KeySequence("public.s", false, westInc, BigInteger.valueOf(westNext)));
        return m;
    }

    private static TableInfo table(Map<String, String> columns, List<String> key) {
        return new TableInfo(new TableName("public", "t"), false, true, columns, key, Map.of(), List.of(), null);
    }

    @Test
    void indexesThatDifferAreNamedBothWays() {
        Map<String, String> cols = Map.of("id", "integer");
        TableInfo east = new TableInfo(new TableName("public", "t"), false, true, cols, List.of("id"), Map.of(), List.of(),
                null, List.of("CREATE INDEX ON public.t USING btree (v)", "CREATE UNIQUE INDEX ON public.t USING btree (id)"));
        TableInfo west = new TableInfo(new TableName("public", "t"), false, true, cols, List.of("id"), Map.of(), List.of(),
                null, List.of("CREATE UNIQUE INDEX ON public.t USING btree (id)", "CREATE UNIQUE INDEX ON public.t USING btree (w)"));
        assertEquals(List.of("CREATE INDEX ON public.t USING btree (v) is missing on west",
                "CREATE UNIQUE INDEX ON public.t USING btree (w) exists on west but not on east"),
                TableShapeCheck.indexDifferences("east", east, "west", west));
    }

    @Test
    void orderDependentResolutionsAreWarnedAboutWithTheirKey() {
        var settings = new io.pgmesh.config.ConflictSettings(io.pgmesh.config.ConflictSettings.Rule.KEEP_LOCAL,
                Map.of("public.a", io.pgmesh.config.ConflictSettings.Rule.APPLY_REMOTE,
                        "public.b", io.pgmesh.config.ConflictSettings.Rule.LAST_UPDATE_WINS),
                io.pgmesh.config.ConflictSettings.OnError.STOP);
        List<Finding> findings = ConflictResolutionCheck.check(settings);
        assertEquals(List.of("conflict_resolution", "conflict_resolution"), codes(findings));
        assertTrue(findings.stream().noneMatch(Finding::isError), "a risky resolution is a choice, not an error");
        assertTrue(findings.get(0).what().startsWith("conflicts.resolution is keep-local"), findings.get(0).what());
        assertTrue(findings.get(0).why().contains("each keeps its own version"), findings.get(0).why());
        assertTrue(findings.get(1).what().startsWith("conflicts.tables.public.a is apply-remote"), findings.get(1).what());
        assertEquals(List.of(), ConflictResolutionCheck.check(io.pgmesh.config.ConflictSettings.defaults()),
                "last-update-wins needs no warning");
        List<Finding> fuw = ConflictResolutionCheck.check(new io.pgmesh.config.ConflictSettings(
                io.pgmesh.config.ConflictSettings.Rule.FIRST_UPDATE_WINS, Map.of(),
                io.pgmesh.config.ConflictSettings.OnError.STOP));
        assertEquals(List.of(), codes(fuw), "first-update-wins decides alike on every node (its rows keep a lineage)");
    }

    @Test
    void clocksFartherApartThanTheBoundAreWarnedAboutNamingBothNodes() {
        Map<String, io.pgmesh.pg.ClockOffset> clocks = new LinkedHashMap<>();
        clocks.put("east", new io.pgmesh.pg.ClockOffset(java.time.Duration.ofMillis(120), java.time.Duration.ofMillis(1)));
        clocks.put("west", new io.pgmesh.pg.ClockOffset(java.time.Duration.ofMillis(-5000), java.time.Duration.ofMillis(2)));
        clocks.put("north", new io.pgmesh.pg.ClockOffset(java.time.Duration.ofMillis(0), java.time.Duration.ofMillis(1)));
        List<Finding> findings = ClockSkewCheck.check(clocks, java.time.Duration.ofMillis(500));
        assertEquals(List.of("clock_skew"), codes(findings));
        assertTrue(findings.get(0).what().startsWith("east's clock is 5120 ms ahead of west's"), findings.get(0).what());
        assertTrue(!findings.get(0).isError() && findings.get(0).fix().contains("east and west"), findings.get(0).toString());
        assertEquals(List.of(), ClockSkewCheck.check(clocks, java.time.Duration.ofMillis(6000)), "within the bound");
        clocks.put("west", new io.pgmesh.pg.ClockOffset(java.time.Duration.ofMillis(-450), java.time.Duration.ofMillis(300)));
        assertEquals(List.of(), ClockSkewCheck.check(clocks, java.time.Duration.ofMillis(500)),
                "not beyond the bound for sure: the measurement's own error could explain it");
    }
}
