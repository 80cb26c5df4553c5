package io.pgmesh.causal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Up to when a node's tombstones of each origin may go: what every third node had seen of it. */
class TombstoneHorizonTest {
    private static final Instant T1 = Instant.parse("2026-12-02T10:00:00Z");
    private static final Instant T2 = Instant.parse("2026-12-02T10:00:05Z");

    @Test
    void withTwoNodesNoThirdNodeCanSendAConcurrentChangeOfTheOthersDelete() {
        var h = TombstoneHorizon.of("west", List.of("east", "west"),
                Map.of("east", Seen.NONE.with("west", T1)));
        assertEquals(new TombstoneHorizon.Origin(Instant.MAX, null), h.get("east"),
                "east's deletes: only east and west write, and both change the row after the delete");
        assertEquals(new TombstoneHorizon.Origin(T1, "east"), h.get("west"),
                "west's own deletes: until east has confirmed it saw them");
    }

    @Test
    void theThirdNodeThatSawLeastBoundsTheHorizon() {
        var h = TombstoneHorizon.of("west", List.of("east", "west", "north", "south"), Map.of(
                "north", Seen.NONE.with("east", T2),
                "south", Seen.NONE.with("east", T1),
                "east", Seen.NONE));
        assertEquals(new TombstoneHorizon.Origin(T1, "south"), h.get("east"));
    }

    @Test
    void aNodeNeverHeardFromHoldsTheOriginBack() {
        var h = TombstoneHorizon.of("west", List.of("east", "west", "north"), Map.of(
                "east", Seen.NONE.with("west", T2)));
        assertEquals(new TombstoneHorizon.Origin(null, "north"), h.get("east"),
                "north may still send a change it made before it saw east's delete");
        assertEquals(new TombstoneHorizon.Origin(null, "north"), h.get("west"));
        assertEquals(new TombstoneHorizon.Origin(null, "east"), h.get("north"),
                "east has not said what it saw of north");
    }
}
