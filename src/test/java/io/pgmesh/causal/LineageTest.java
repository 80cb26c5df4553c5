package io.pgmesh.causal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.pgmesh.causal.Lineage.Fork;
import io.pgmesh.causal.Lineage.Version;
import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineageTest {
    private static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");

    private static Version v(String node, int millis) {
        return new Version(node, T0.plus(millis, ChronoUnit.MILLIS));
    }

    private static Lineage of(String text, Version own) {
        return Lineage.parse(text).then(own);
    }

    @Test
    void readsTheStoredFormAndWritesItBack() {
        Lineage l = Lineage.parse("east@" + micros(v("east", 1)) + " west@" + micros(v("west", 2)));
        assertEquals(List.of(v("east", 1), v("west", 2)), l.versions());
        assertEquals("east@" + micros(v("east", 1)) + " west@" + micros(v("west", 2)), l.toString());
        assertEquals("? east@" + micros(v("east", 1)), Lineage.parse("? east@" + micros(v("east", 1))).toString(),
                "a lineage cut off keeps saying so");
        assertEquals("?", Lineage.parse("east@x").toString(), "what cannot be read makes the start unknown");
        assertEquals("?", Lineage.parse(null).toString());
    }

    @Test
    void branchesForkAfterTheirLastCommonVersion() {
        String common = "east@" + micros(v("east", 1));
        Lineage west = of(common + " west@" + micros(v("west", 5)), v("west", 10));
        Lineage east = of(common, v("east", 7));
        assertEquals(new Fork(v("west", 5), v("east", 7)), Lineage.order(west, east),
                "west's branch began with its first change after the common version, not its last");
        assertEquals(new Fork(v("east", 7), v("west", 5)), Lineage.order(east, west), "the same fork from the other side");
    }

    @Test
    void branchesFromRowsThatWereThereBeforeAnyLineageForkAtTheirFirstVersions() {
        assertEquals(new Fork(v("west", 5), v("east", 7)),
                Lineage.order(of("", v("west", 5)).then(v("west", 10)), of("", v("east", 7))));
    }

    @Test
    void aVersionMadeOverTheOtherDescendsFromIt() {
        Lineage older = of("", v("east", 1));
        Lineage newer = of("east@" + micros(v("east", 1)) + " west@" + micros(v("west", 2)), v("north", 3));
        assertInstanceOf(Lineage.RemoteDescends.class, Lineage.order(older, newer));
        assertInstanceOf(Lineage.LocalDescends.class, Lineage.order(newer, older));
    }

    @Test
    void withoutACommonVersionInViewAndAStartCutOffNothingIsDecided() {
        Lineage cut = of("? west@" + micros(v("west", 5)), v("west", 6));
        assertInstanceOf(Lineage.Unknown.class, Lineage.order(cut, of("", v("east", 7))));
        assertInstanceOf(Lineage.Unknown.class, Lineage.order(of("", v("east", 7)), Lineage.UNKNOWN.then(v("west", 6))));
        assertEquals(new Fork(v("west", 6), v("east", 7)), Lineage.order(of("? west@" + micros(v("west", 5)), v("west", 6)),
                of("? west@" + micros(v("west", 5)), v("east", 7))), "a common version in view still decides");
    }

    @Test
    void readsTheMessageThatTravelsWithARowChange() {
        assertEquals(new Lineage.Message("public.doc", "east@1", null), Lineage.Message.parse(message(true, "public.doc\neast@1")).orElseThrow());
        assertEquals(new Lineage.Message("public.doc", "", "west@2"), Lineage.Message.parse(message(true, "public.doc\n\nwest@2")).orElseThrow(),
                "a change of key: the new key had no lineage, the old key's delete has one");
        assertEquals(java.util.Optional.empty(), Lineage.Message.parse(message(false, "public.doc\neast@1")),
                "only the transactional message of the trigger");
    }

    private static LogicalMessage message(boolean transactional, String text) {
        return new LogicalMessage(transactional, Lsn.ZERO, Lineage.MESSAGE_PREFIX, text.getBytes(StandardCharsets.UTF_8));
    }

    private static long micros(Version v) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, v.time());
    }
}
