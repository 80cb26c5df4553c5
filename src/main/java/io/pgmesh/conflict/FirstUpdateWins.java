package io.pgmesh.conflict;

/**
 * The older version wins: the earlier commit timestamp, equal timestamps going to the greater
 * node name as in {@link LastUpdateWins}. Deletes are versions too, compared the same way through
 * their tombstones. Nodes agree on two versions that are concurrent; they cannot agree on an
 * update made after seeing another node's version, which this rule drops on that node (see docs/CONFLICTS.md, "Limits").
 */
public final class FirstUpdateWins implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        if (!c.localVersionKnown()) {
            // a local row of unknown age is the oldest version there is; with no local version the remote is all there is
            return c.type().localRowExists() ? Resolution.KEEP_LOCAL : Resolution.APPLY_REMOTE;
        }
        int byTime = c.remoteCommitTime().compareTo(c.localCommitTime());
        boolean remoteWins = byTime != 0 ? byTime < 0 : c.remoteNode().compareTo(c.localNode()) > 0;
        return remoteWins ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
    }
}
