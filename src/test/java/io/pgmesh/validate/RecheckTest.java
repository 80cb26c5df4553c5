package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecheckTest {

    private static Map<String, String> images(String east, String west) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("east", east);
        m.put("west", west);
        return m;
    }

    @Test
    void aDifferenceThatHeldStillIsConfirmed() {
        assertEquals(Recheck.Outcome.CONFIRMED, Recheck.judge(images("a", "b"), images("a", "b")));
        assertEquals(Recheck.Outcome.CONFIRMED, Recheck.judge(images("a", null), images("a", null)),
                "a row missing on west both times is a real difference");
    }

    @Test
    void aDifferenceThatVanishedWasInFlight() {
        assertEquals(Recheck.Outcome.SETTLED, Recheck.judge(images("a", "b"), images("a", "a")));
        assertEquals(Recheck.Outcome.SETTLED, Recheck.judge(images("a", null), images(null, null)),
                "a row deleted on both nodes by the time of the re-read is no difference");
    }

    @Test
    void aDifferenceWhoseRowsMovedIsReadAgain() {
        assertEquals(Recheck.Outcome.CHANGING, Recheck.judge(images("a", "b"), images("c", "b")),
                "east's row changed between the reads: a change may be in flight");
        assertEquals(Recheck.Outcome.CHANGING, Recheck.judge(images("a", null), images("a", "c")));
    }
}
