package io.pgmesh.apply;

import io.pgmesh.causal.Seen;
import io.pgmesh.pg.Lsn;
import java.time.Instant;

/**
 * The source transaction being applied: who committed it, when, where in the source's WAL, and
 * what its source had seen when it was made.
 */
record RemoteTxn(String sourceNode, Instant commitTime, Lsn finalLsn, Seen seen) {

    RemoteTxn(String sourceNode, Instant commitTime, Lsn finalLsn) {
        this(sourceNode, commitTime, finalLsn, Seen.NONE);
    }
}
