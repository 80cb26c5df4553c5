package io.pgmesh.conflict;

import io.pgmesh.causal.Lineage;
import io.pgmesh.pg.TableName;
import java.time.Instant;

/**
 * One conflict as the resolver sees it: the remote change's node and commit time against the
 * local version's writer and commit time. When the type has no local row
 * ({@link ConflictType#localRowExists()} is false) the local version is the delete that removed
 * the row, known from its tombstone. {@code localNode} and {@code localCommitTime} are null when
 * there is no local version, or when its history is unknown (written before commit timestamps
 * were tracked, or frozen). {@code fork} is where the two versions' branches began, when their
 * table keeps a {@link Lineage} and it tells; null otherwise.
 */
public record Conflict(ConflictType type, TableName table, String remoteNode, Instant remoteCommitTime,
                       String localNode, Instant localCommitTime, Lineage.Fork fork) {

    public Conflict(ConflictType type, TableName table, String remoteNode, Instant remoteCommitTime,
                    String localNode, Instant localCommitTime) {
        this(type, table, remoteNode, remoteCommitTime, localNode, localCommitTime, null);
    }

    /** True when the local version's age is known. */
    public boolean localVersionKnown() {
        return localCommitTime != null;
    }

    /**
     * True when the remote version is newer than the local one: the later commit timestamp, and on
     * equal timestamps the greater node name. Every node orders the same two versions alike.
     */
    public boolean remoteIsNewer() {
        int byTime = remoteCommitTime.compareTo(localCommitTime);
        if (byTime != 0) {
            return byTime > 0;
        }
        return remoteNode.compareTo(localNode) > 0;
    }
}
