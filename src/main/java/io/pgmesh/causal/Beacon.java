package io.pgmesh.causal;

import io.pgmesh.pg.Ident;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * The message by which a node tells the others what it has applied: after an apply session
 * commits transactions of {@code source}, it writes into its own node's WAL "applied
 * {@code source} through commit time t", as a non-transactional logical message. It travels in
 * that node's change stream in WAL order, so every change the node's applications commit after
 * it was made after those transactions were visible there.
 *
 * <p>It is written after the COMMIT, never before: it must never claim what might still roll
 * back. A local transaction that saw the applied rows and committed in the microseconds between
 * the COMMIT and the message is judged without that knowledge; at worst that is a conflict
 * resolved by the table's rule, as every change was before.
 *
 * <p>The apply session's origin is released around the message: a message written under an
 * origin carries it, and the source's server (origin = none) or pgmesh's own loopback filter
 * would drop it as an echo.
 */
public final class Beacon {
    public static final String PREFIX = "pgmesh";
    private static final String KIND = "applied";

    /** What one beacon says. */
    public record Applied(String node, Instant through) {
    }

    private Beacon() {
    }

    /** The statements that write the beacon from an apply session bound to {@code origin}. */
    public static String emitSql(String origin, String sourceNode, Instant through) {
        return "SELECT pg_replication_origin_session_reset();\n"
                + "SELECT pg_logical_emit_message(false, " + Ident.literal(PREFIX) + ", "
                + Ident.literal(KIND + " " + sourceNode + " " + through) + ");\n"
                + "SELECT pg_replication_origin_session_setup(" + Ident.literal(origin) + ")";
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
