package io.pgmesh.apply;

import java.time.Instant;

/**
 * What an applier tells its task's metrics: called on the apply thread, so an implementation
 * only counts (no I/O, no lock that a reader could hold).
 */
public interface ApplyEvents {
    /** A transaction committed on the target: what it changed, and the conflicts and errors it met. */
    void committed(Instant sourceCommitTime, int rows, AppliedChanges changes);

    /** Everything the source made up to {@code sourceTime} is committed here: a heartbeat passed with nothing waiting. */
    void caughtUp(Instant sourceTime);
}
