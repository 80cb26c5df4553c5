package io.pgmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SinceOptionTest {
    private static final Instant NOW = Instant.parse("2026-05-02T12:00:00Z");

    @Test
    void durationsCountBackFromNow() {
        assertEquals(Instant.parse("2026-05-02T11:30:00Z"), SinceOption.parse("30m", NOW));
        assertEquals(Instant.parse("2026-04-25T12:00:00Z"), SinceOption.parse("7d", NOW));
        assertEquals(Instant.parse("2026-05-02T10:29:30Z"), SinceOption.parse("1h30m30s", NOW));
    }

    @Test
    void momentsWithoutAnOffsetAreUtc() {
        assertEquals(Instant.parse("2026-05-01T10:00:00Z"), SinceOption.parse("2026-05-01T10:00:00Z", NOW));
        assertEquals(Instant.parse("2026-05-01T08:00:00Z"), SinceOption.parse("2026-05-01 10:00:00+02", NOW));
        assertEquals(Instant.parse("2026-05-01T10:00:00Z"), SinceOption.parse("2026-05-01 10:00:00", NOW));
        assertEquals(Instant.parse("2026-05-01T00:00:00Z"), SinceOption.parse("2026-05-01", NOW));
    }

    @Test
    void anythingElseIsAUsageErrorThatShowsTheForms() {
        ExitException e = assertThrows(ExitException.class, () -> SinceOption.parse("yesterday", NOW));
        assertEquals(Main.USAGE, e.code());
        assertTrue(e.getMessage().startsWith("--since: expected a duration such as 30m") && e.getMessage().contains("\"yesterday\""),
                e.getMessage());
        assertThrows(ExitException.class, () -> SinceOption.parse("", NOW));
    }
}
