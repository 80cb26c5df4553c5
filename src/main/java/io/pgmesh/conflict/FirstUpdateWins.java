package io.pgmesh.conflict;

/**
 * The older branch wins: of two concurrent versions, the one whose branch began first, that is
 * whose first version after their last common one has the earlier commit timestamp (equal
 * timestamps going to the greater node name, as in {@link LastUpdateWins}). A later version of
 * the winning branch wins with it, so a node that changed the row twice while the other node's
 * change was on its way decides as that node does. Without a lineage ({@link Conflict#fork} null)
 * the versions' own commit times decide. Deletes are versions too, compared through their tombstones.
 */
public final class FirstUpdateWins implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        if (!c.localVersionKnown()) {
            // a local row of unknown age is the oldest version there is; with no local version the remote is all there is
            return c.type().localRowExists() ? Resolution.KEEP_LOCAL : Resolution.APPLY_REMOTE;
        }
        String remoteNode = c.fork() == null ? c.remoteNode() : c.fork().remote().node();
        String localNode = c.fork() == null ? c.localNode() : c.fork().local().node();
        int byTime = c.fork() == null ? c.remoteCommitTime().compareTo(c.localCommitTime())
                : c.fork().remote().time().compareTo(c.fork().local().time());
        boolean remoteWins = byTime != 0 ? byTime < 0 : remoteNode.compareTo(localNode) > 0;
        return remoteWins ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
    }
}
