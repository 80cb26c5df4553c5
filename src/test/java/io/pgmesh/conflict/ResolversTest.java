package io.pgmesh.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.pgmesh.config.ConflictSettings;
import io.pgmesh.causal.Lineage;
import io.pgmesh.pg.TableName;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ResolversTest {
    private static final TableName T = new TableName("public", "t");
    private static final Instant T1 = Instant.parse("2026-01-01T00:00:00.000001Z");
    private static final Instant T2 = Instant.parse("2026-01-01T00:00:00.000002Z");

    private static Conflict conflict(ConflictType type, String remote, Instant remoteTime, String local, Instant localTime) {
        return new Conflict(type, T, remote, remoteTime, local, localTime);
    }

    @Test
    void firstUpdateWinsKeepsTheOlderVersionWithTheSameTieBreakOnBothNodes() {
        FirstUpdateWins fuw = new FirstUpdateWins();
        assertEquals(Resolution.APPLY_REMOTE, fuw.resolve(conflict(ConflictType.UPDATE_DIFFERS, "east", T1, "west", T2)));
        assertEquals(Resolution.KEEP_LOCAL, fuw.resolve(conflict(ConflictType.UPDATE_DIFFERS, "east", T2, "west", T1)));
        Resolution onWest = fuw.resolve(conflict(ConflictType.INSERT_EXISTS, "east", T1, "west", T1));
        Resolution onEast = fuw.resolve(conflict(ConflictType.INSERT_EXISTS, "west", T1, "east", T1));
        assertEquals(List.of(Resolution.KEEP_LOCAL, Resolution.APPLY_REMOTE), List.of(onWest, onEast),
                "on equal timestamps both nodes keep the greater node's version (west)");
    }

    @Test
    void firstUpdateWinsTreatsDeletesAsVersions() {
        FirstUpdateWins fuw = new FirstUpdateWins();
        assertEquals(Resolution.APPLY_REMOTE, fuw.resolve(conflict(ConflictType.DELETE_DIFFERS, "east", T1, "west", T2)),
                "a delete older than the local row's version wins");
        assertEquals(Resolution.KEEP_LOCAL, fuw.resolve(conflict(ConflictType.UPDATE_MISSING, "east", T2, "west", T1)),
                "an update newer than the delete that removed the row is dropped");
        assertEquals(Resolution.APPLY_REMOTE, fuw.resolve(conflict(ConflictType.UPDATE_MISSING, "east", T2, null, null)),
                "with no local version the remote one is all there is");
        assertEquals(Resolution.KEEP_LOCAL, fuw.resolve(conflict(ConflictType.INSERT_EXISTS, "east", T1, null, null)),
                "a local row of unknown age is older than any change pgmesh carries");
    }

    @Test
    void firstUpdateWinsConvergesForConcurrentVersions() {
        // Two nodes each write the key once without seeing the other's write: both orders end alike.
        List<VersionModel.Version> versions = List.of(new VersionModel.Version(false, T2, "east"),
                new VersionModel.Version(true, T1, "west"));
        FirstUpdateWins fuw = new FirstUpdateWins();
        assertEquals(VersionModel.applyAll(fuw, versions), VersionModel.applyAll(fuw, List.of(versions.get(1), versions.get(0))));
        assertEquals("deleted", VersionModel.applyAll(fuw, versions), "west's older delete wins");
    }

    @Test
    void keepLocalApplyRemoteAndErrorDecideRegardlessOfAge() {
        assertEquals(Resolution.KEEP_LOCAL, new KeepLocal().resolve(conflict(ConflictType.UPDATE_DIFFERS, "east", T2, "west", T1)));
        assertEquals(Resolution.KEEP_LOCAL, new KeepLocal().resolve(conflict(ConflictType.INSERT_DELETED, "east", T2, "west", T1)),
                "the local delete stays");
        assertEquals(Resolution.SKIP, new KeepLocal().resolve(conflict(ConflictType.UPDATE_MISSING, "east", T2, null, null)));
        assertEquals(Resolution.APPLY_REMOTE, new ApplyRemote().resolve(conflict(ConflictType.UPDATE_DIFFERS, "east", T1, "west", T2)));
        assertEquals(Resolution.APPLY_REMOTE, new ApplyRemote().resolve(conflict(ConflictType.DELETE_DIFFERS, "east", T1, "west", T2)));
        for (ConflictType type : ConflictType.values()) {
            assertEquals(Resolution.ERROR, new ErrorOnConflict().resolve(conflict(type, "east", T1, "west", T2)), type.label());
        }
    }

    /**
     * West changed the row at T1 and again at T3; east's T2 is concurrent with both. Weighed on
     * west against T3 by its own time east's T2 would win, while east kept west's branch.
     */
    @Test
    void firstUpdateWinsWeighsWhereEachBranchBeganWhenTheLineageTellsIt() {
        Instant t3 = T2.plusMillis(1);
        Conflict onWest = new Conflict(ConflictType.UPDATE_DIFFERS, T, "east", T2, "west", t3,
                new Lineage.Fork(new Lineage.Version("west", T1), new Lineage.Version("east", T2)));
        assertEquals(Resolution.KEEP_LOCAL, new FirstUpdateWins().resolve(onWest), "west's branch began first");
        Conflict onEast = new Conflict(ConflictType.UPDATE_DIFFERS, T, "west", T1, "east", T2,
                new Lineage.Fork(new Lineage.Version("east", T2), new Lineage.Version("west", T1)));
        assertEquals(Resolution.APPLY_REMOTE, new FirstUpdateWins().resolve(onEast), "both nodes decide for west's branch");
        Conflict sameTime = new Conflict(ConflictType.UPDATE_DIFFERS, T, "east", t3, "west", t3,
                new Lineage.Fork(new Lineage.Version("west", T1), new Lineage.Version("east", T1)));
        assertEquals(Resolution.KEEP_LOCAL, new FirstUpdateWins().resolve(sameTime),
                "branches that began at the same time go to the greater node name, as without a lineage");
    }

    @Test
    void policyGivesEachTableItsOverrideAndTheRestTheMeshResolution() {
        ConflictPolicy p = new ConflictPolicy(new ConflictSettings(ConflictSettings.Rule.FIRST_UPDATE_WINS,
                Map.of("public.accounts", ConflictSettings.Rule.ERROR), ConflictSettings.OnError.SKIP));
        assertInstanceOf(ErrorOnConflict.class, p.resolverFor(new TableName("public", "accounts")));
        assertInstanceOf(FirstUpdateWins.class, p.resolverFor(T));
        assertEquals(ConflictSettings.OnError.SKIP, p.onError());
        assertInstanceOf(LastUpdateWins.class, ConflictPolicy.defaults().resolverFor(T));
    }
}
