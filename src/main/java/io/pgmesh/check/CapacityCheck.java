package io.pgmesh.check;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.topology.Names;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** max_replication_slots, max_wal_senders and (18+) max_active_replication_origins against what the mesh needs. */
final class CapacityCheck {

    private static final String USAGE = """
            SELECT current_setting('max_replication_slots')::int,
                   current_setting('max_wal_senders')::int,
                   current_setting('max_active_replication_origins', true)::int,
                   (SELECT count(*) FROM pg_replication_slots WHERE slot_name <> ALL (?)),
                   (SELECT count(*) FROM pg_replication_origin WHERE roname <> ALL (?)),
                   (SELECT count(*) FROM pg_stat_replication WHERE application_name NOT LIKE 'pgmesh %')
            """;
    private static final String WHY = "pgmesh refuses to start a task, or stops one, when the server has no room"
            + " left for its slot, WAL sender or replication origin";

    private CapacityCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        List<String> ownSlots = new ArrayList<>();
        List<String> ownOrigins = new ArrayList<>();
        for (NodeConfig peer : n.peers()) {
            ownSlots.add(Names.slot(n.name(), peer.name()));
            ownOrigins.add(Names.origin(peer.name()));
        }
        try (PreparedStatement ps = n.conn().prepareStatement(USAGE)) {
            ps.setArray(1, n.conn().createArrayOf("text", ownSlots.toArray()));
            ps.setArray(2, n.conn().createArrayOf("text", ownOrigins.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Capacity need = new Capacity(ownSlots.size(), rs.getInt(4), rs.getInt(5), rs.getInt(6),
                        n.caps().originsUseReplicationSlots());
                return findings(n.name(), need, rs.getInt(1), rs.getInt(2), (Integer) rs.getObject(3));
            }
        }
    }

    /** @param maxOrigins max_active_replication_origins, null before PostgreSQL 18 */
    static List<Finding> findings(String node, Capacity need, int maxSlots, int maxSenders, Integer maxOrigins) {
        List<Finding> findings = new ArrayList<>();
        if (maxSlots < need.slotsNeeded()) {
            findings.add(Finding.error(node, "max_replication_slots", "max_replication_slots is " + maxSlots
                    + ", this node needs at least " + need.slotsNeeded() + ": " + need.slotsBreakdown(), WHY,
                    restart("max_replication_slots", Math.max(need.slotsNeeded(),
                            need.originsUseSlots() ? need.originsNeeded() : 0))));
        } else if (need.originsUseSlots() && maxSlots < need.originsNeeded()) {
            // Before 18 the same setting sizes a separate array of replication origin states.
            findings.add(Finding.error(node, "max_replication_slots", "max_replication_slots is " + maxSlots
                    + ", which before PostgreSQL 18 also bounds the replication origins; this node needs at least "
                    + need.originsNeeded() + ": " + need.peers() + " for the tasks this node is the target of"
                    + (need.otherOrigins() > 0 ? ", " + need.otherOrigins() + " for replication origins of others" : ""),
                    WHY, restart("max_replication_slots", need.originsNeeded())));
        }
        if (maxSenders < need.sendersNeeded()) {
            findings.add(Finding.error(node, "max_wal_senders", "max_wal_senders is " + maxSenders
                    + ", this node needs at least " + need.sendersNeeded() + ": " + need.peers()
                    + " for the tasks this node is the source of"
                    + (need.otherSenders() > 0 ? ", " + need.otherSenders() + " in use by others" : ""), WHY,
                    restart("max_wal_senders", need.sendersNeeded())));
        }
        if (!need.originsUseSlots() && maxOrigins != null && maxOrigins < need.originsNeeded()) {
            findings.add(Finding.error(node, "max_active_replication_origins", "max_active_replication_origins is "
                    + maxOrigins + ", this node needs at least " + need.originsNeeded() + ": " + need.peers()
                    + " for the tasks this node is the target of"
                    + (need.otherOrigins() > 0 ? ", " + need.otherOrigins() + " for replication origins of others" : ""),
                    WHY, restart("max_active_replication_origins", need.originsNeeded())));
        }
        return findings;
    }

    private static String restart(String setting, int value) {
        return "set " + setting + " = " + value + " or more and restart PostgreSQL" + ServerSettingsCheck.RESTART_MANAGED;
    }
}
