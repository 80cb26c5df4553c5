package io.pgmesh.capture;

import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;

/**
 * The message a node's run process writes into that node's WAL every few seconds, so that each
 * task out of it measures latency while no application writes: a non-transactional logical
 * message with the source's clock, written by a session without a replication origin. Every
 * slot of the node decodes it once; an applier only reads it, so it cannot loop, and it touches
 * no table.
 */
public final class Heartbeat {
    public static final String PREFIX = io.pgmesh.topology.Names.MESSAGE_PREFIX;
    private static final String KIND = "heartbeat";

    private Heartbeat() {
    }

    /** The SQL expression of a heartbeat's content, made with the source's clock. */
    public static String contentSql() {
        return "'" + KIND + " ' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
    }

    /** When the heartbeat {@code m} was made on its source, if it is one. */
    public static Optional<Instant> parse(LogicalMessage m) {
        if (m.transactional() || !PREFIX.equals(m.prefix())) {
            return Optional.empty();
        }
        String s = new String(m.content(), StandardCharsets.UTF_8);
        if (!s.startsWith(KIND + " ")) {
            return Optional.empty();
        }
        try {
            long micros = Long.parseLong(s.substring(KIND.length() + 1));
            return Optional.of(Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1000));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
