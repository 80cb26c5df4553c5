package io.pgmesh.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class LsnTest {

    @Test
    void parseReadsHighAndLowHalvesAsHex() {
        assertEquals(0x16_B374_D848L, Lsn.parse("16/B374D848").value(),
                "'16/B374D848' is 0x16 << 32 | 0xB374D848");
        assertEquals(0L, Lsn.parse("0/0").value(), "'0/0' is position zero");
        assertEquals(-1L, Lsn.parse("FFFFFFFF/FFFFFFFF").value(), "the largest LSN has all 64 bits set");
        assertEquals(0x1_0000_0000L, Lsn.parse("1/0").value(), "the high half is shifted by 32 bits");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0/0", "0/1", "16/B374D848", "FFFFFFFF/FFFFFFFF", "1/0", "80000000/0", "A/B"})
    void canonicalTextRoundTrips(String text) {
        assertEquals(text, Lsn.parse(text).toString(), "parse then format must give back PostgreSQL's own text");
    }

    @Test
    void parseAcceptsLowerCaseAndLeadingZerosButFormatsCanonically() {
        assertEquals("16/B374D848", Lsn.parse("16/b374d848").toString(), "PostgreSQL accepts lower-case hex");
        assertEquals("16/A", Lsn.parse("00000016/0000000A").toString(), "leading zeros are allowed up to 8 digits");
    }

    @Test
    void toStringMatchesPercentXFormatForRandomValues() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 10_000; i++) {
            long v = random.nextLong();
            String expected = String.format("%X/%X", v >>> 32, v & 0xFFFF_FFFFL);
            Lsn lsn = Lsn.of(v);
            assertEquals(expected, lsn.toString(), "toString must equal %X/%X for " + v);
            assertEquals(lsn, Lsn.parse(lsn.toString()), "format then parse must give the same LSN for " + v);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/", "16", "16B374D848", "16/", "/1", "1/2/3", "G/0", "0/G", "123456789/0",
        "0/123456789", " 1/2", "1/2 ", "1 /2", "+1/2", "-1/2", "1/-2", "0x1/2", "\uFF11/2", "1/\u0662"})
    void parseRejectsGarbageAndQuotesIt(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lsn.parse(text),
                "'" + text + "' is not hex 'hi/lo' with 1-8 digits per half and must be rejected");
        assertTrue(e.getMessage().contains("'" + text + "'"),
                "the message must quote the bad text so the operator can find it: " + e.getMessage());
    }

    @Test
    void parseRejectsNull() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lsn.parse(null),
                "null is not an LSN");
        assertTrue(e.getMessage().contains("null"), "the message must say the input was null: " + e.getMessage());
    }

    @Test
    void comparisonIsUnsigned() {
        assertTrue(Lsn.parse("FFFFFFFF/FFFFFFFF").compareTo(Lsn.parse("0/1")) > 0,
                "FFFFFFFF/FFFFFFFF is the largest LSN although its long value is -1");
        assertTrue(Lsn.parse("80000000/0").compareTo(Lsn.parse("7FFFFFFF/FFFFFFFF")) > 0,
                "crossing the sign bit must not flip the order");
        assertTrue(Lsn.parse("0/1").compareTo(Lsn.ZERO) > 0, "0/1 is after 0/0");
        assertEquals(0, Lsn.parse("16/B374D848").compareTo(Lsn.of(0x16_B374_D848L)), "equal positions compare 0");
    }

    @Test
    void sortingUsesWalOrder() {
        List<Lsn> lsns = new ArrayList<>(List.of(Lsn.parse("FFFFFFFF/0"), Lsn.parse("0/10"),
                Lsn.parse("80000000/1"), Lsn.ZERO, Lsn.parse("1/0")));
        Collections.sort(lsns);
        assertEquals("[0/0, 0/10, 1/0, 80000000/1, FFFFFFFF/0]", lsns.toString(), "sorted by unsigned value");
    }

    @Test
    void maxPicksTheLaterPositionUnsigned() {
        Lsn high = Lsn.parse("FFFFFFFF/FFFFFFFF");
        Lsn low = Lsn.parse("0/1");
        assertSame(high, Lsn.max(high, low), "max must use unsigned order (first argument later)");
        assertSame(high, Lsn.max(low, high), "max must use unsigned order (second argument later)");
        Lsn a = Lsn.parse("5/5");
        Lsn b = Lsn.parse("5/5");
        assertSame(a, Lsn.max(a, b), "on a tie max returns its first argument");
    }

    @Test
    void minusIsThePlainDifferenceOfValues() {
        assertEquals(0x100L, Lsn.parse("1/100").minus(Lsn.parse("1/0")), "bytes between two positions");
        assertEquals(1L, Lsn.parse("1/0").minus(Lsn.parse("0/FFFFFFFF")), "difference across the 32-bit boundary");
        assertEquals(-0x100L, Lsn.parse("1/0").minus(Lsn.parse("1/100")),
                "no clamping: an earlier position minus a later one is negative");
        assertEquals(1L, Lsn.parse("80000000/0").minus(Lsn.parse("7FFFFFFF/FFFFFFFF")),
                "the difference across the sign bit is still the byte distance");
    }

    @Test
    void zeroIsTheInvalidPosition() {
        assertTrue(Lsn.ZERO.isZero(), "ZERO is zero");
        assertTrue(Lsn.parse("0/0").isZero(), "'0/0' parses to zero");
        assertEquals(Lsn.ZERO, Lsn.of(0), "of(0) equals ZERO");
        assertFalse(Lsn.parse("0/1").isZero(), "0/1 is a real position");
        assertEquals("0/0", Lsn.ZERO.toString(), "ZERO prints as PostgreSQL prints InvalidXLogRecPtr");
    }

    @Test
    void equalityIsByValue() {
        assertEquals(Lsn.parse("16/B374D848"), Lsn.of(0x16_B374_D848L), "same value, same LSN");
        assertEquals(Lsn.parse("16/B374D848").hashCode(), Lsn.of(0x16_B374_D848L).hashCode(),
                "equal LSNs must hash alike for use as map keys");
    }
}
