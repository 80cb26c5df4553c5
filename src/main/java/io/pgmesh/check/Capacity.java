package io.pgmesh.check;

/**
 * What one node of the mesh needs of the server's fixed-size pools. A node of an N-node mesh is the
 * source of N-1 tasks (one slot and one WAL sender each) and the target of N-1 (one replication
 * origin each). Room that others already take counts too.
 *
 * @param peers             the other nodes of the mesh, N-1
 * @param otherSlots        replication slots on the node that are not this node's mesh slots
 * @param otherOrigins      replication origins on the node that are not this mesh's origins
 * @param otherSenders      WAL senders running for something other than pgmesh
 * @param originsUseSlots   origins are bounded by max_replication_slots (before PostgreSQL 18): the
 *                          same number, but their own array, so slots and origins do not add up
 */
record Capacity(int peers, int otherSlots, int otherOrigins, int otherSenders, boolean originsUseSlots) {

    int slotsNeeded() {
        return peers + otherSlots;
    }

    int sendersNeeded() {
        return peers + otherSenders;
    }

    int originsNeeded() {
        return peers + otherOrigins;
    }

    /** How {@link #slotsNeeded()} adds up, for the finding's message. */
    String slotsBreakdown() {
        String s = peers + " for the tasks this node is the source of";
        if (otherSlots > 0) {
            s += ", " + otherSlots + " taken by slots of others";
        }
        return s;
    }
}
