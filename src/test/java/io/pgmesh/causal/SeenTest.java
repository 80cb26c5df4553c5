package io.pgmesh.causal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a node had seen, and the beacons that tell it, without a server. */
class SeenTest {
    private static final Instant T = Instant.parse("2026-12-01T10:00:00.123456Z");

    @Test
    void aVersionWasSeenWhenItsOriginsTimeIsAtOrBeforeWhatWasAppliedFromThatOrigin() {
        Seen s = Seen.NONE.with("east", T);
        assertTrue(s.saw("east", T), "the very transaction applied");
        assertTrue(s.saw("east", T.minusSeconds(5)), "an earlier one of the same origin");
        assertFalse(s.saw("east", T.plusNanos(1000)), "a later one was not seen");
        assertFalse(s.saw("north", T.minusSeconds(60)), "nothing of an origin never applied");
        assertFalse(s.saw("east", null), "a version of unknown time is never taken as seen");
    }

    @Test
    void knowledgeNeverMovesBack() {
        Seen s = Seen.NONE.with("east", T);
        assertSame(s, s.with("east", T.minusSeconds(1)), "an older beacon (a task restarted) changes nothing");
        assertEquals(T.plusSeconds(1), s.with("east", T.plusSeconds(1)).asMap().get("east"));
        Seen merged = s.merge(Seen.NONE.with("east", T.minusSeconds(9)).with("west", T));
        assertEquals(T, merged.asMap().get("east"));
        assertEquals(T, merged.asMap().get("west"));
    }

    @Test
    void encodedKnowledgeReadsBackAndUnreadablePartsAreLeftOut() {
        Seen s = Seen.NONE.with("east", T).with("north", T.plusSeconds(3));
        assertEquals(s, Seen.parse(s.encode()));
        assertEquals(Seen.NONE, Seen.parse(null));
        assertEquals("{\"east\":\"" + T + "\",\"north\":\"" + T.plusSeconds(3) + "\"}", s.encode());
        assertEquals(Seen.NONE.with("east", T), Seen.parse("{\"east\": \"" + T + "\", \"west\": \"yesterday\"}"),
                "what cannot be read is not known, which costs at most a false conflict");
        assertEquals(Seen.NONE, Seen.parse("not json"));
    }

    @Test
    void aBeaconIsANonTransactionalPgmeshMessageSayingWhatWasApplied() {
        assertEquals(Optional.of(new Beacon.Applied("east", T)), Beacon.parse(message(false, "pgmesh", "applied east " + T)));
        assertEquals(Optional.empty(), Beacon.parse(message(true, "pgmesh", "applied east " + T)),
                "a transactional message is the application's, not a beacon");
        assertEquals(Optional.empty(), Beacon.parse(message(false, "app", "applied east " + T)));
        assertEquals(Optional.empty(), Beacon.parse(message(false, "pgmesh", "applied east")));
        assertEquals(Optional.empty(), Beacon.parse(message(false, "pgmesh", "applied east not-a-time")));
    }

    @Test
    void theBeaconIsWrittenOutsideTheOriginAndTheOriginTakenBack() {
        String sql = Beacon.emitting("pgmesh_west", "$4");
        assertEquals("(SELECT pg_replication_origin_session_setup('pgmesh_west') FROM (SELECT"
                + " pg_logical_emit_message(false, 'pgmesh', $4) FROM (SELECT pg_replication_origin_session_reset())"
                + " released) emitted) beacon", sql, "released, written, taken back: innermost first");
        assertEquals(Optional.of(new Beacon.Applied("west", T)),
                Beacon.parse(message(false, "pgmesh", Beacon.content("west", T))), "what is written reads back");
    }

    private static LogicalMessage message(boolean transactional, String prefix, String content) {
        return new LogicalMessage(transactional, Lsn.of(0x10), prefix, content.getBytes(StandardCharsets.UTF_8));
    }
}
