package io.pgmesh.apply;

import io.pgmesh.pg.Lsn;
import java.time.Instant;

/** The source transaction being applied: who committed it, when, and where in the source's WAL. */
record RemoteTxn(String sourceNode, Instant commitTime, Lsn finalLsn) {
}
