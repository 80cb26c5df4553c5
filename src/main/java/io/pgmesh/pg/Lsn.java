package io.pgmesh.pg;

import java.util.Locale;
import java.util.Objects;

/**
 * A PostgreSQL write-ahead log position ({@code pg_lsn}): an unsigned 64-bit byte offset into the
 * WAL stream, written as two hexadecimal halves, {@code "16/B374D848"}.
 *
 * <p>This is the only LSN type in pgmesh; pgjdbc's {@code LogSequenceNumber} is converted at the
 * capture boundary. The 64 bits of {@link #value()} are interpreted as unsigned everywhere:
 * ordering uses {@link Long#compareUnsigned}, so {@code FFFFFFFF/FFFFFFFF} sorts after {@code 0/1}
 * even though its {@code long} value is {@code -1}.
 *
 * @param value the 64-bit position, read as unsigned
 */
public record Lsn(long value) implements Comparable<Lsn> {

    /** The invalid / "no position yet" LSN, {@code 0/0} ({@code InvalidXLogRecPtr}). */
    public static final Lsn ZERO = new Lsn(0L);

    private static final int MAX_HALF_DIGITS = 8;

    /** Returns the LSN with the given 64-bit value (read as unsigned). */
    public static Lsn of(long value) {
        return value == 0L ? ZERO : new Lsn(value);
    }

    /**
     * Parses the textual form PostgreSQL prints, {@code "hi/lo"}, where each half is 1 to 8
     * hexadecimal digits (either case). Nothing else is accepted: no whitespace, no sign, no
     * {@code 0x} prefix, no third part.
     *
     * @throws IllegalArgumentException if {@code text} is null or not of that form; the message
     *     quotes the text
     */
    public static Lsn parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("invalid LSN: null (expected hex 'hi/lo', e.g. '16/B374D848')");
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw invalid(text, "missing '/'");
        }
        long hi = parseHalf(text, 0, slash, "high");
        long lo = parseHalf(text, slash + 1, text.length(), "low");
        return of((hi << 32) | lo);
    }

    // Hand-rolled rather than Long.parseLong(s, 16): that one accepts a leading '+' or '-', which
    // would let "-1/0" through as a valid position.
    private static long parseHalf(String text, int from, int to, String which) {
        int digits = to - from;
        if (digits == 0) {
            throw invalid(text, which + " half is empty");
        }
        if (digits > MAX_HALF_DIGITS) {
            throw invalid(text, which + " half has " + digits + " digits, at most 8 allowed");
        }
        long result = 0;
        for (int i = from; i < to; i++) {
            int digit = hexDigit(text.charAt(i));
            if (digit < 0) {
                throw invalid(text, "'" + text.charAt(i) + "' at index " + i + " is not a hex digit");
            }
            result = (result << 4) | digit;
        }
        return result;
    }

    // ASCII only: Character.digit would also accept e.g. fullwidth digits, which PostgreSQL rejects.
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }

    private static IllegalArgumentException invalid(String text, String reason) {
        return new IllegalArgumentException(
                "invalid LSN '" + text + "': " + reason + " (expected hex 'hi/lo', e.g. '16/B374D848')");
    }

    /** Returns the later of two positions (unsigned comparison); {@code a} if they are equal. */
    public static Lsn max(Lsn a, Lsn b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** True for {@code 0/0}, which PostgreSQL uses for "no position". */
    public boolean isZero() {
        return value == 0L;
    }

    /**
     * Returns {@code this.value - other.value} as a plain {@code long}: the number of WAL bytes
     * between the two positions when {@code this} is at or after {@code other}. No clamping is
     * done, so if {@code other} is later the result is negative; a caller computing lag should
     * decide what that means for it. (Results only wrap for distances above 2<sup>63</sup> bytes,
     * which no real WAL reaches.)
     */
    public long minus(Lsn other) {
        return value - other.value;
    }

    /** Unsigned ordering of the 64-bit positions. */
    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    /** The PostgreSQL text form, {@code %X/%X} of the high and low 32 bits, e.g. {@code 16/B374D848}. */
    @Override
    public String toString() {
        // Same output as String.format("%X/%X", ...) without the Formatter cost; LSNs are logged often.
        return Long.toHexString(value >>> 32).toUpperCase(Locale.ROOT)
                + '/'
                + Long.toHexString(value & 0xFFFF_FFFFL).toUpperCase(Locale.ROOT);
    }
}
