package io.pgmesh.apply;

/**
 * A transaction larger than one batch met a conflict after its first chunks had run: they are
 * rolled back and were not kept, so the task must receive it again from the source and apply it
 * statement by statement. Not a failure: the task restarts at once, without backoff.
 */
public final class ReplayNeededException extends RuntimeException {
    public ReplayNeededException(String message) {
        super(message);
    }
}
