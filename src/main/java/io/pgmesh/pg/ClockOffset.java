package io.pgmesh.pg;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;

/**
 * How far a server's clock stands from this machine's: the server's {@code clock_timestamp()}
 * against the middle of the round trip that read it, the best of a few tries. The round trip
 * bounds the error. Only differences between servers matter to pgmesh (commit timestamps of two
 * nodes decide concurrent conflicts), and this machine's own error cancels out of those.
 *
 * @param offset      server clock minus this machine's clock
 * @param uncertainty half the round trip of the measurement: the true offset lies within it
 */
public record ClockOffset(Duration offset, Duration uncertainty) {
    private static final int TRIES = 3;

    /** The widest difference between two nodes' clocks, at least {@code skew} for sure. */
    public record Skew(String ahead, String behind, Duration skew, Duration uncertainty) {
        /** True when the clocks differ by more than {@code bound} whatever the measurement's error. */
        public boolean exceeds(Duration bound) {
            return skew.minus(uncertainty).compareTo(bound) > 0;
        }

        public String describe() {
            return ahead + "'s clock is " + millis(skew) + " ahead of " + behind + "'s (measured to within "
                    + millis(uncertainty) + ")";
        }
    }

    public static ClockOffset measure(Connection conn) throws SQLException {
        ClockOffset best = null;
        for (int i = 0; i < TRIES; i++) {
            Instant before = Instant.now();
            long serverMicros = Long.parseLong(Sql.queryString(conn,
                    "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint").orElseThrow());
            Instant after = Instant.now();
            Duration half = Duration.between(before, after).dividedBy(2);
            Instant server = Instant.EPOCH.plus(serverMicros, ChronoUnit.MICROS);
            ClockOffset o = new ClockOffset(Duration.between(before.plus(half), server), half);
            if (best == null || o.uncertainty.compareTo(best.uncertainty) < 0) {
                best = o;
            }
        }
        return best;
    }

    /** The pair of nodes whose clocks differ most, if two were measured. */
    public static Optional<Skew> widest(Map<String, ClockOffset> byNode) {
        Map.Entry<String, ClockOffset> max = null;
        Map.Entry<String, ClockOffset> min = null;
        for (Map.Entry<String, ClockOffset> e : byNode.entrySet()) {
            if (max == null || e.getValue().offset.compareTo(max.getValue().offset) > 0) {
                max = e;
            }
            if (min == null || e.getValue().offset.compareTo(min.getValue().offset) < 0) {
                min = e;
            }
        }
        if (byNode.size() < 2) {
            return Optional.empty();
        }
        return Optional.of(new Skew(max.getKey(), min.getKey(), max.getValue().offset.minus(min.getValue().offset),
                max.getValue().uncertainty.plus(min.getValue().uncertainty)));
    }

    private static String millis(Duration d) {
        long ms = d.toMillis();
        return ms >= 10_000 ? String.format("%.1f s", ms / 1000.0) : ms + " ms";
    }
}
