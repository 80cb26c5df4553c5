package io.pgmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.config.MonitorSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** pgmesh conflicts says so when it is asked for more than retention keeps. */
class RetentionNoteTest {
    private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
    private static final MonitorSettings.Retention KEEP = MonitorSettings.Retention.DEFAULT;

    @Test
    void withinWhatIsKeptNothingIsSaid() {
        assertEquals(Optional.empty(), ConflictsCommand.retentionNote(KEEP, NOW.minus(Duration.ofDays(29)), NOW));
    }

    @Test
    void pastTheConflictsButNotTheErrors() {
        assertEquals(Optional.of("note: conflicts older than 30d (retention.conflicts) were removed by pgmesh run;"
                        + " pgmesh_conflicts_total and pgmesh_apply_errors_total count them on"),
                ConflictsCommand.retentionNote(KEEP, NOW.minus(Duration.ofDays(45)), NOW));
    }

    @Test
    void pastBoth() {
        assertEquals(Optional.of("note: conflicts older than 30d (retention.conflicts) and apply errors older than 90d"
                        + " (retention.apply-errors) were removed by pgmesh run; pgmesh_conflicts_total and"
                        + " pgmesh_apply_errors_total count them on"),
                ConflictsCommand.retentionNote(KEEP, NOW.minus(Duration.ofDays(100)), NOW));
    }
}
