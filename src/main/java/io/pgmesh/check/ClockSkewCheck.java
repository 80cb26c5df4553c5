package io.pgmesh.check;

import io.pgmesh.pg.ClockOffset;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The nodes' clocks against each other. Causally ordered changes apply whatever the clocks say,
 * but concurrent ones are still decided by commit time (last-update-wins, first-update-wins):
 * with clocks far apart the node whose clock runs ahead wins more than its share.
 */
final class ClockSkewCheck {
    /** The bound {@code check} warns above unless told otherwise. */
    static final Duration DEFAULT_BOUND = Duration.ofMillis(500);

    private ClockSkewCheck() {
    }

    static List<Finding> check(Map<String, ClockOffset> clocks, Duration bound) {
        return ClockOffset.widest(clocks).filter(s -> s.exceeds(bound)).map(s -> List.of(Finding.warning(s.ahead(),
                "clock_skew", s.describe() + ", more than " + bound.toMillis() + " ms",
                "concurrent conflicts are decided by commit timestamps: the node whose clock runs ahead wins"
                        + " them more often than it should (changes made after seeing another node's are not"
                        + " affected)",
                "synchronise the clocks of " + s.ahead() + " and " + s.behind() + " (chrony or ntpd against the"
                        + " same source; on Amazon RDS the clock is managed, so check the other node)")))
                .orElse(List.of());
    }
}
