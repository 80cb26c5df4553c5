package io.pgmesh.conflict;

/**
 * The newer commit timestamp wins; equal timestamps go to the greater node name. Both nodes
 * order the two versions by the same (commit time, node) pair, so both keep the same one.
 * A missing row is not recreated: the delete that removed it wins, and so a remote DELETE of a
 * row updated here meanwhile wins too, or the two nodes would keep different answers.
 */
public final class LastUpdateWins implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        return switch (c.type()) {
            case UPDATE_MISSING, DELETE_MISSING -> Resolution.SKIP;
            // The delete wins whatever the clocks say: the node that deleted the row skips the
            // other's UPDATE (update_missing), so this node must not keep it either.
            case DELETE_DIFFERS -> Resolution.APPLY_REMOTE;
            case INSERT_EXISTS, UPDATE_DIFFERS -> remoteWins(c) ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
        };
    }

    static boolean remoteWins(Conflict c) {
        if (c.localCommitTime() == null) {
            return true; // a row of unknown age is older than any change pgmesh carries
        }
        int byTime = c.remoteCommitTime().compareTo(c.localCommitTime());
        if (byTime != 0) {
            return byTime > 0;
        }
        return c.remoteNode().compareTo(c.localNode()) > 0;
    }
}
