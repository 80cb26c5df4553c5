package io.pgmesh.conflict;

/**
 * The newer version wins: the later commit timestamp, equal timestamps going to the greater node
 * name. A delete is a version too (its tombstone keeps its commit time and node), so an UPDATE or
 * INSERT older than the delete that removed its row is dropped, and a newer one brings the row
 * back. Every node keeps the newest version it has seen of each key, whatever the order in which
 * the versions arrived, so all nodes end with the same one.
 */
public final class LastUpdateWins implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        if (!c.localVersionKnown()) {
            // a row of unknown age is older than any change pgmesh carries; no tombstone, nothing to lose
            return Resolution.APPLY_REMOTE;
        }
        return c.remoteIsNewer() ? Resolution.APPLY_REMOTE : Resolution.KEEP_LOCAL;
    }
}
