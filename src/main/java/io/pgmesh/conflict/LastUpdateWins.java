package io.pgmesh.conflict;

/**
 * The newer commit timestamp wins; equal timestamps go to the greater node name. Both nodes
 * order the two versions by the same (commit time, node) pair, so both keep the same one.
 * A missing row is not recreated: the delete that removed it wins.
 */
public final class LastUpdateWins implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        return switch (c.type()) {
            case UPDATE_MISSING, DELETE_MISSING -> Resolution.SKIP;
            case INSERT_EXISTS, UPDATE_DIFFERS, DELETE_DIFFERS -> remoteWins(c) ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
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
