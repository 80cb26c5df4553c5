package io.pgmesh.capture;

import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Finds, checks and creates the logical replication slots of tasks on their source. */
public final class SlotManager {

    private SlotManager() {
    }

    public static List<SlotInfo> pgmeshSlots(Connection conn, ServerCapabilities caps) throws SQLException {
        String invalidation = caps.slotInvalidationReason() ? "invalidation_reason"
                : caps.slotConflicting() ? "CASE WHEN conflicting THEN 'conflicting' END"
                : "NULL::text";
        String walStatus = caps.slotWalStatus() ? "wal_status, safe_wal_size" : "NULL::text, NULL::bigint";
        String sql = "SELECT slot_name, active, confirmed_flush_lsn, restart_lsn,"
                + " COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint,"
                + " " + invalidation + ", " + walStatus
                + " FROM pg_replication_slots WHERE slot_type = 'logical' AND slot_name LIKE ? ORDER BY slot_name";
        List<SlotInfo> slots = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setString(1, Names.PREFIX.replace("_", "\\_") + "%");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String reason = rs.getString(6);
                    if (reason == null && "lost".equals(rs.getString(7))) {
                        reason = "wal_status lost";
                    }
                    long safe = rs.getLong(8);
                    Long safeWalSize = rs.wasNull() ? null : safe;  // NULL while max_slot_wal_keep_size is unbounded
                    slots.add(new SlotInfo(rs.getString(1), rs.getBoolean(2), lsn(rs.getString(3)),
                            lsn(rs.getString(4)), rs.getLong(5), reason, rs.getString(7), safeWalSize));
                }
            }
        }
        return slots;
    }

    public static Optional<SlotInfo> find(Connection conn, ServerCapabilities caps, String slotName) throws SQLException {
        return pgmeshSlots(conn, caps).stream().filter(s -> s.name().equals(slotName)).findFirst();
    }

    /**
     * Makes sure the task's slot exists and is usable. A missing slot is created only when the
     * target has never applied anything from this source and was not loaded from it; otherwise
     * recreating it would silently skip every change made since the old slot's position (or since
     * the load's consistent point, where the load's slot started: right after init, before the
     * first change in this direction, the origin shows no progress yet).
     *
     * @param loadedAt the consistent point of a finished initial load from the source into the target, or null
     */
    public static SlotInfo ensure(Connection source, ServerCapabilities caps, TaskSpec task, Lsn originProgress,
                                  Lsn loadedAt) throws SQLException, SlotLostException {
        Optional<SlotInfo> slot = find(source, caps, task.slotName());
        if (slot.isPresent()) {
            if (slot.get().isInvalidated()) {
                throw new SlotLostException("slot " + task.slotName() + " on " + task.source().name()
                        + " is invalidated (" + slot.get().invalidation() + "); " + resyncAdvice(task));
            }
            return slot.get();
        }
        if (!originProgress.isZero()) {
            throw new SlotLostException("slot " + task.slotName() + " is missing on " + task.source().name()
                    + " although " + task.target().name() + " has applied its changes up to " + originProgress
                    + "; " + resyncAdvice(task));
        }
        if (loadedAt != null) {
            throw new SlotLostException("slot " + task.slotName() + " is missing on " + task.source().name()
                    + " although " + task.target().name() + " was loaded from it with changes to follow from "
                    + loadedAt + "; " + resyncAdvice(task));
        }
        recordStart(source, task.slotName());
        Sql.queryString(source, "SELECT lsn FROM pg_create_logical_replication_slot(?, 'pgoutput')", task.slotName());
        return find(source, caps, task.slotName())
                .orElseThrow(() -> new SQLException("slot " + task.slotName() + " vanished right after it was created"));
    }

    /**
     * Records on the source when its slot toward a target is about to be created: every version
     * the source committed before then reached the target by other means than this slot (a seed,
     * the initial load), so the target has seen it. Taken before the slot, so it lies at or before
     * the slot's consistent point. Causal conflict detection reads it on this node as the floor of
     * what the target has seen of it.
     */
    public static void recordStart(Connection source, String slotName) throws SQLException {
        Sql.queryString(source, "INSERT INTO pgmesh.slot_start (slot_name, started_at) VALUES (?, clock_timestamp())"
                + " ON CONFLICT (slot_name) DO UPDATE SET started_at = EXCLUDED.started_at RETURNING 1", slotName);
    }

    static String resyncAdvice(TaskSpec task) {
        return "changes made on " + task.source().name() + " since then were never sent, so " + task.target().name()
                + " needs a resync: pgmesh resync -c <mesh file> " + task.target().name() + " --from "
                + task.source().name() + " rebuilds its replicated tables from " + task.source().name()
                + " while the other nodes run; then send pgmesh run SIGHUP (or restart it)";
    }

    private static Lsn lsn(String text) {
        return text == null ? Lsn.ZERO : Lsn.parse(text);
    }
}
