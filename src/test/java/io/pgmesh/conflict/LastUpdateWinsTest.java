package io.pgmesh.conflict;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.time.Instant;
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
    void missingRowsAreSkippedSoTheDeleteWins() {
        assertEquals(Resolution.SKIP, lww.resolve(new Conflict(ConflictType.UPDATE_MISSING, T, "east", T2, null, null)));
        assertEquals(Resolution.SKIP, lww.resolve(new Conflict(ConflictType.DELETE_MISSING, T, "east", T2, null, null)));
    }

    @Test
    void aRowOfUnknownAgeLosesToAnyRemoteChange() {
        assertEquals(Resolution.APPLY_REMOTE, lww.resolve(new Conflict(ConflictType.INSERT_EXISTS, T, "a", T1, null, null)));
    }
}
