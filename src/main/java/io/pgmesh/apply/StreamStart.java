package io.pgmesh.apply;

import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * When the target's own stream toward the task's source began ({@code pgmesh.slot_start} on the
 * target, written before that slot was created): the source has seen every version the target
 * committed before then, since those rows reached it by other means (the same seed, a restored
 * backup, the initial load), never through pgmesh.
 *
 * <p>On the first run of a mesh the two directions start side by side, so this task's apply
 * session may open before the other direction has created its slot. The time is then looked up
 * again when a local version would otherwise count as concurrent, and kept once found: without
 * that, the first update of every seeded row was logged as a conflict.
 */
final class StreamStart {
    private final String slot;
    private Instant known;

    StreamStart(TaskSpec task) {
        this(Names.slot(task.target().name(), task.source().name()), null);
    }

    private StreamStart(String slot, Instant known) {
        this.slot = slot;
        this.known = known;
    }

    /** A start already known, which is never looked up. */
    static StreamStart at(Instant known) {
        return new StreamStart(null, known);
    }

    /** The time, if it was found already. */
    Optional<Instant> known() {
        return Optional.ofNullable(known);
    }

    /** The time, looked up on the target while it is not known yet. */
    Optional<Instant> lookUp(Connection target) throws SQLException {
        if (known == null) {
            known = Sql.queryString(target, "SELECT (extract(epoch FROM started_at) * 1000000)::bigint"
                            + " FROM pgmesh.slot_start WHERE slot_name = ?", slot)
                    .map(micros -> Instant.EPOCH.plus(Long.parseLong(micros), ChronoUnit.MICROS)).orElse(null);
        }
        return known();
    }
}
