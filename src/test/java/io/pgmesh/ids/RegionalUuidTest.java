package io.pgmesh.ids;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RegionalUuidTest {

    @Test
    void valuesCarryVersion7TheRfcVariantTheRegionAndTheTime() {
        long millis = 1_735_689_600_123L;
        for (int region : new int[] {0, 1, 2, 255, 256, 4097, 32766, RegionalUuid.MAX_REGION}) {
            UUID u = new RegionalUuid(region, () -> millis).next();
            assertEquals(7, u.version(), "version nibble of " + u);
            assertEquals(2, u.variant(), "variant bits 10 of " + u);
            assertEquals(region, RegionalUuid.regionOf(u), "region must round-trip through " + u);
            assertEquals(Instant.ofEpochMilli(millis), RegionalUuid.instantOf(u), "timestamp of " + u);
            assertTrue(u.toString().startsWith(String.format("%08x-%04x-7", millis >>> 16, millis & 0xFFFF)),
                    "the first 48 bits are the unix milliseconds, big-endian, then version 7: " + u);
        }
    }

    @Test
    void regionsOutsideFifteenBitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RegionalUuid(-1));
        assertThrows(IllegalArgumentException.class, () -> new RegionalUuid(RegionalUuid.MAX_REGION + 1));
    }

    @Test
    void decodingRefusesAUuidOfAnotherVersion() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RegionalUuid.regionOf(UUID.randomUUID()));
        assertTrue(e.getMessage().contains("version 4"), "the message says what the value is: " + e.getMessage());
    }

    @Test
    void oneGeneratorIsStrictlyIncreasingOnTheSystemClock() {
        RegionalUuid gen = new RegionalUuid(7);
        UUID previous = gen.next();
        for (int i = 0; i < 200_000; i++) {
            UUID u = gen.next();
            assertTrue(RegionalUuid.ORDER.compare(previous, u) < 0, previous + " must sort before " + u);
            previous = u;
        }
    }

    @Test
    void aClockThatStandsStillOrStepsBackNeitherBreaksOrderNorRunsOutWithinAMillisecond() {
        AtomicLong clock = new AtomicLong(1_000_000);
        RegionalUuid gen = new RegionalUuid(3, clock::get);
        List<UUID> made = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) { // more than the 4096 counter values of one millisecond
            made.add(gen.next());
        }
        clock.set(999_000); // a step back of one second
        for (int i = 0; i < 100; i++) {
            made.add(gen.next());
        }
        for (int i = 1; i < made.size(); i++) {
            assertTrue(RegionalUuid.ORDER.compare(made.get(i - 1), made.get(i)) < 0,
                    "value " + i + " must sort after value " + (i - 1));
        }
        assertEquals(Instant.ofEpochMilli(1_000_000), RegionalUuid.instantOf(made.get(0)));
        assertTrue(RegionalUuid.instantOf(made.get(made.size() - 1)).toEpochMilli() <= 1_000_003,
                "running out of counter borrows only the next few milliseconds");
    }

    @Test
    void differentRegionsNeverMakeTheSameValueEvenOnTheSameMillisecond() {
        long millis = 42;
        Set<UUID> seen = new HashSet<>();
        for (int region = 0; region < 64; region++) {
            RegionalUuid gen = new RegionalUuid(region, () -> millis);
            for (int i = 0; i < 2_000; i++) {
                UUID u = gen.next();
                assertEquals(region, RegionalUuid.regionOf(u));
                assertTrue(seen.add(u), "duplicate " + u);
            }
        }
        // Same time, same counter: only the region bits tell these apart, and they always differ.
        UUID a = new RegionalUuid(1, () -> millis).next();
        UUID b = new RegionalUuid(2, () -> millis).next();
        assertEquals(a.getMostSignificantBits(), b.getMostSignificantBits(), "same time and counter");
        assertFalse(a.equals(b), "regions 1 and 2 must differ");
    }

    @Test
    void orderIsPostgresqlsUnsignedBytewiseOrder() {
        UUID low = UUID.fromString("7fffffff-ffff-7fff-8000-000000000000");
        UUID high = UUID.fromString("80000000-0000-7000-8000-000000000000");
        assertTrue(RegionalUuid.ORDER.compare(low, high) < 0, "0x80... sorts after 0x7f... as bytes");
        assertTrue(low.compareTo(high) > 0, "whereas UUID.compareTo compares signed longs");
    }
}
