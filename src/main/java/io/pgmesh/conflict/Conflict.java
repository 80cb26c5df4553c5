package io.pgmesh.conflict;

import io.pgmesh.pg.TableName;
import java.time.Instant;

/**
 * One conflict as the resolver sees it: the remote change's node and commit time against the
 * local row's last writer and commit time. {@code localNode} and {@code localCommitTime} are null
 * when there is no local row, or when its history is unknown (written before commit timestamps
 * were tracked, or frozen).
 */
public record Conflict(ConflictType type, TableName table, String remoteNode, Instant remoteCommitTime,
                       String localNode, Instant localCommitTime) {
}
