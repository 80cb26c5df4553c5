package io.pgmesh.causal;

import io.pgmesh.pg.Ident;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The message by which a node tells the others what it has applied: an apply session writes
 * into its own node's WAL "applied {@code source} through commit time t", as a non-transactional
 * logical message, with the last transaction of each batch it applies (and with each transaction
 * it applies carefully). It travels in that node's change stream in WAL order, so every change
 * the node's applications commit after it was made with those rows in place.
 *
 * <p>It is written just before that transaction's COMMIT, as its last statement, because a local
 * transaction waiting for one of its row locks commits right after that COMMIT: written after
 * the COMMIT, the message would often come too late, and that transaction would look concurrent
 * with the version it overwrote. A local transaction that waited for a lock of an earlier
 * transaction of the same batch can still commit before the message: it then counts as
 * concurrent, a conflict decided by the table's rule (one beacon per transaction would close
 * that, at a fifth of the apply rate on two cores). The price: if the COMMIT itself fails (a deferred constraint trigger,
 * a crash between the two records), the message claims a transaction that is applied only
 * later, when the task retries.
 *
 * <p>The apply session's origin is released around the message: a message written under an
 * origin carries it, and the source's server (origin = none) or pgmesh's own loopback filter
 * would drop it as an echo.
 */
public final class Beacon {
    public static final String PREFIX = io.pgmesh.topology.Names.MESSAGE_PREFIX;
    private static final String KIND = "applied";

    /** What one beacon says. */
    public record Applied(String node, Instant through) {
    }

    private Beacon() {
    }

    /** What the beacon of a transaction of {@code sourceNode} committed at {@code through} says. */
    public static String content(String sourceNode, Instant through) {
        return KIND + " " + sourceNode + " " + through;
    }

    /**
     * A row source for a query of an apply session bound to {@code origin}: it releases the
     * origin, writes the message {@code contentParam} (a parameter of the statement) and takes the
     * origin back, in that order, before the query's own select list is computed (subqueries
     * with volatile functions are not merged into the query that reads them).
     */
    public static String emitting(String origin, String contentParam) {
        return "(SELECT pg_replication_origin_session_setup(" + Ident.literal(origin) + ")"
                + " FROM (SELECT pg_logical_emit_message(false, " + Ident.literal(PREFIX) + ", " + contentParam + ")"
                + " FROM (SELECT pg_replication_origin_session_reset()) released) emitted) beacon";
    }

    /** The beacon a message carries, if it is one. */
    public static Optional<Applied> parse(LogicalMessage m) {
        if (m.transactional() || !PREFIX.equals(m.prefix())) {
            return Optional.empty();
        }
        String[] parts = new String(m.content(), StandardCharsets.UTF_8).split(" ");
        if (parts.length != 3 || !KIND.equals(parts[0])) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Applied(parts[1], Instant.parse(parts[2])));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
