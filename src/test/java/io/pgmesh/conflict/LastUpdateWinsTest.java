package io.pgmesh.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class LastUpdateWinsTest {
    private static final TableName T = new TableName("public", "t");
    private static final Instant T1 = Instant.parse("2026-01-01T00:00:00.000001Z");
    private static final Instant T2 = Instant.parse("2026-01-01T00:00:00.000002Z");
    private final LastUpdateWins lww = new LastUpdateWins();

    @Test
    void newerRemoteWinsOlderRemoteLoses() {
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.UPDATE_DIFFERS, T, "east", T2, "west", T1)));
        assertEquals(Resolution.KEEP_LOCAL, lww.resolve(new Conflict(ConflictType.UPDATE_DIFFERS, T, "east", T1, "west", T2)));
    }

    @Test
    void equalTimestampsPickTheSameWinnerOnBothNodes() {
        // On west: remote east vs local west. On east: remote west vs local east. Exactly one applies.
        Resolution onWest = lww.resolve(new Conflict(ConflictType.INSERT_EXISTS, T, "east", T1, "west", T1));
        Resolution onEast = lww.resolve(new Conflict(ConflictType.INSERT_EXISTS, T, "west", T1, "east", T1));
        assertEquals(Resolution.KEEP_LOCAL, onWest, "west > east, so west keeps its own version");
        assertEquals(Resolution.APPLY_REMOTE, onEast, "and east takes west's: both end with west's row");
    }

    @Test
    void aDeleteIsAVersionLikeAnyOther() {
        assertEquals(Resolution.KEEP_LOCAL, lww.resolve(new Conflict(ConflictType.UPDATE_MISSING, T, "east", T1, "west", T2)),
                "an UPDATE older than the delete that removed its row is dropped");
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.UPDATE_MISSING, T, "east", T2, "west", T1)),
                "an UPDATE newer than the delete brings the row back, as the node that made it has it");
        assertEquals(Resolution.KEEP_LOCAL, lww.resolve(new Conflict(ConflictType.DELETE_DIFFERS, T, "east", T1, "west", T2)),
                "a DELETE older than the local row's version loses");
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.INSERT_DELETED, T, "east", T2, "west", T1)));
    }

    @Test
    void withNoLocalVersionTheRemoteApplies() {
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.UPDATE_MISSING, T, "east", T2, null, null)));
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.DELETE_MISSING, T, "east", T2, null, null)));
    }

    @Test
    void aRowOfUnknownAgeLosesToAnyRemoteChange() {
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.INSERT_EXISTS, T, "a", T1, null, null)));
    }

    /**
     * The property the rule exists for: a node that receives the same versions of a key (writes
     * and deletes from three nodes) in any order ends with the same one.
     */
    @Test
    void everyArrivalOrderEndsWithTheSameVersion() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            List<VersionModel.Version> versions = new ArrayList<>();
            Set<String> taken = new HashSet<>(); // a node commits one version per timestamp
            for (int i = 0; i < 2 + random.nextInt(5); i++) {
                Instant time = T1.plusNanos(1000L * random.nextInt(4));
                String node = List.of("east", "west", "north").get(random.nextInt(3));
                if (taken.add(time + node)) {
                    versions.add(new VersionModel.Version(random.nextBoolean(), time, node));
                }
            }
            Set<String> ends = new HashSet<>();
            for (int order = 0; order < 20; order++) {
                Collections.shuffle(versions, random);
                ends.add(VersionModel.applyAll(lww, versions));
            }
            assertEquals(1, ends.size(), "versions " + versions + " must end the same in any order, ended " + ends);
        }
    }
}
