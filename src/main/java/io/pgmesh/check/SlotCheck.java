package io.pgmesh.check;

import io.pgmesh.capture.SlotInfo;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** pgmesh slots nobody reads: they hold back WAL on the node until its disk fills. */
final class SlotCheck {

    private SlotCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        List<String> ownSlots = n.peers().stream().map(NodeConfig::name).map(p -> Names.slot(n.name(), p)).toList();
        List<Finding> findings = new ArrayList<>();
        List<String> taken = Sql.queryColumn(n.conn(), "SELECT slot_name || ' (database ' || database || ')'"
                + " FROM pg_replication_slots WHERE slot_name = ANY (?) AND database <> current_database() ORDER BY 1",
                n.conn().createArrayOf("text", ownSlots.toArray()));
        if (!taken.isEmpty()) {
            findings.add(Finding.error(n.name(), "slot_name_taken", "slot name(s) of this mesh are taken on this server"
                            + " by another database: " + String.join(", ", taken),
                    "slots and replication origins belong to the whole server and pgmesh names them after the nodes:"
                            + " two meshes whose node names match, on databases of one server, would share their"
                            + " origins' progress and lose or repeat changes",
                    "give this mesh's nodes names the other mesh does not use (node names are in the mesh file)"));
        }
        for (SlotInfo slot : SlotManager.pgmeshSlots(n.conn(), n.caps())) {
            if (slot.active()) {
                continue;
            }
            String drop = "SELECT pg_drop_replication_slot(" + Ident.literal(slot.name()) + ") on " + n.name();
            String fix = ownSlots.contains(slot.name())
                    ? "start pgmesh run for this mesh, whose task reads it; if an initial load into "
                    + slot.name().substring(Names.slot(n.name(), "").length()) + " failed, the task waits for it:"
                    + " run pgmesh init again, which drops this slot and loads again (or, to give the load up, "
                    + drop + "); if the task is retired for good, drop it: " + drop
                    : "no task of this mesh reads it; unless another pgmesh mesh still does, drop it: " + drop;
            findings.add(Finding.warning(n.name(), "inactive_slot", "slot " + slot.name() + " is inactive and retains "
                            + io.pgmesh.pg.Sizes.human(slot.retainedBytes()) + " of WAL"
                            + (slot.isInvalidated() ? " (invalidated: " + slot.invalidation() + ")" : ""),
                    "a slot keeps every WAL segment its reader has not confirmed, so an unread slot makes the"
                            + " node's WAL grow until the disk is full",
                    fix));
        }
        return findings;
    }

}
