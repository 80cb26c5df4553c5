package io.pgmesh.wal;

import java.time.Instant;

/**
 * Converts between PostgreSQL's internal timestamp, an {@code int64} count of microseconds since
 * 2000-01-01 00:00:00 UTC (as sent in pgoutput Begin and Commit, and as taken by
 * {@code pg_replication_origin_xact_setup}), and {@link Instant}. Microseconds are kept exactly.
 */
public final class PgTime {

    /** 2000-01-01T00:00:00Z in seconds since the Unix epoch. */
    public static final long PG_EPOCH_SECOND = 946_684_800L;

    private static final long MICROS_PER_SECOND = 1_000_000L;
    private static final long NANOS_PER_MICRO = 1_000L;

    private PgTime() {
    }

    /** The instant {@code pgMicros} microseconds after 2000-01-01 00:00:00 UTC (negative: before). */
    public static Instant toInstant(long pgMicros) {
        // floorDiv/floorMod so that times before 2000 keep a non-negative nano adjustment.
        long seconds = Math.floorDiv(pgMicros, MICROS_PER_SECOND);
        long micros = Math.floorMod(pgMicros, MICROS_PER_SECOND);
        return Instant.ofEpochSecond(PG_EPOCH_SECOND + seconds, micros * NANOS_PER_MICRO);
    }

    /**
     * Microseconds since 2000-01-01 00:00:00 UTC. Sub-microsecond precision is truncated towards
     * the past (like {@code floor}), so {@code toInstant(toPgMicros(t))} is never after {@code t}.
     *
     * @throws ArithmeticException if the instant is outside the {@code int64} microsecond range
     */
    public static long toPgMicros(Instant instant) {
        long seconds = Math.subtractExact(instant.getEpochSecond(), PG_EPOCH_SECOND);
        long micros = instant.getNano() / NANOS_PER_MICRO;
        return Math.addExact(Math.multiplyExact(seconds, MICROS_PER_SECOND), micros);
    }
}
