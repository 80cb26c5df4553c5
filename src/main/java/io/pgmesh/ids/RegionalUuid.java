package io.pgmesh.ids;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Comparator;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * Region-tagged, time-ordered UUIDs: RFC 9562 version 7, laid out so that two regions can never
 * make the same value, whatever their clocks do.
 *
 * <pre>
 *  bits   field
 *  0-47   unix_ts_ms   milliseconds since 1970-01-01 UTC
 *  48-51  ver          0111 (7)
 *  52-63  rand_a       here: a counter within the millisecond, so one generator is monotonic
 *  64-65  var          10
 *  66-80  region       0..32767, the node's region
 *  81-127 random       47 random bits
 * </pre>
 *
 * <p>{@code pgmesh.uuid_v7(region smallint)} in SQL (see {@code ControlSchema}) makes the same layout,
 * except that its rand_a is the sub-millisecond part of {@code clock_timestamp()} (RFC 9562 method 3),
 * so SQL values are ordered to the microsecond rather than strictly monotonic.
 *
 * <p>Values sort by time under {@link #ORDER}, which compares as PostgreSQL compares {@code uuid}
 * (bytewise, unsigned); {@link UUID#compareTo} compares signed longs and does not.
 */
public final class RegionalUuid {
    public static final int MAX_REGION = 0x7FFF;
    /** PostgreSQL's order of uuid values: unsigned, most significant byte first. */
    public static final Comparator<UUID> ORDER = (a, b) -> {
        int c = Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits());
        return c != 0 ? c : Long.compareUnsigned(a.getLeastSignificantBits(), b.getLeastSignificantBits());
    };

    private static final int COUNTER_BITS = 12;
    private static final int COUNTER_MAX = (1 << COUNTER_BITS) - 1;
    private static final long MAX_TIMESTAMP = (1L << 48) - 1;
    private static final int RANDOM_BITS = 47;

    private final int region;
    private final LongSupplier clock;
    private final SecureRandom random = new SecureRandom();
    private long lastMillis = -1;
    private int counter;

    /** A generator for {@code region} (0..32767), on the system clock. */
    public RegionalUuid(int region) {
        this(region, System::currentTimeMillis);
    }

    RegionalUuid(int region, LongSupplier clockMillis) {
        if (region < 0 || region > MAX_REGION) {
            throw new IllegalArgumentException("region must be 0.." + MAX_REGION + ", got " + region);
        }
        this.region = region;
        this.clock = clockMillis;
    }

    public int region() {
        return region;
    }

    /**
     * The next value; greater (under {@link #ORDER}) than every value this generator made before,
     * also when the clock steps back: the generator then stays on its last millisecond, and when
     * the 4096 counter values of a millisecond are used up it moves on to the next one early.
     */
    public synchronized UUID next() {
        long now = clock.getAsLong();
        if (now > lastMillis) {
            lastMillis = now;
            counter = 0;
        } else if (counter < COUNTER_MAX) {
            counter++;
        } else {
            lastMillis++;
            counter = 0;
        }
        if (lastMillis < 0 || lastMillis > MAX_TIMESTAMP) {
            throw new IllegalStateException("clock outside the 48-bit millisecond range of UUID version 7: " + lastMillis);
        }
        long msb = lastMillis << 16 | 0x7000L | counter;
        long lsb = 0x8000_0000_0000_0000L | (long) region << RANDOM_BITS
                | (random.nextLong() & ((1L << RANDOM_BITS) - 1));
        return new UUID(msb, lsb);
    }

    /** The region a value was made for. */
    public static int regionOf(UUID uuid) {
        requireLayout(uuid);
        return (int) (uuid.getLeastSignificantBits() >>> RANDOM_BITS) & MAX_REGION;
    }

    /** When a value was made, to the millisecond. */
    public static Instant instantOf(UUID uuid) {
        requireLayout(uuid);
        return Instant.ofEpochMilli(uuid.getMostSignificantBits() >>> 16);
    }

    private static void requireLayout(UUID uuid) {
        if (uuid.version() != 7 || uuid.variant() != 2) {
            throw new IllegalArgumentException("not a UUID version 7 of the RFC 9562 variant: " + uuid
                    + " (version " + uuid.version() + ", variant " + uuid.variant() + ")");
        }
    }
}
