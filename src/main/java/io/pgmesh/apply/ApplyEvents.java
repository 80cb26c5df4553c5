package io.pgmesh.apply;

import java.time.Instant;

/**
 * What an applier tells its task's metrics: called on the apply thread, so an implementation
 * only counts (no I/O, no lock that a reader could hold).
 */
public interface ApplyEvents {
    /** A transaction committed on the target, with its row changes. */
    void committed(Instant sourceCommitTime, long conflictsSoFar, int rows, AppliedChanges changes);

    /** Everything the source made up to {@code sourceTime} is committed here: a heartbeat passed with nothing waiting. */
    void caughtUp(Instant sourceTime);

    /** A conflict was resolved and recorded in pgmesh.conflicts. */
    void conflict(String table, String type, String resolution);

    /** A change could not be applied and was recorded in pgmesh.apply_errors. */
    void applyError(String table);
}
