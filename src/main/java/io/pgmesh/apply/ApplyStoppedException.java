package io.pgmesh.apply;

/**
 * A task stopped at a change it cannot apply ({@code conflicts.on-error: stop}). Its transaction is
 * rolled back and the task's position stays before it, so nothing after it is applied and nothing
 * is lost: once a person fixes the cause, the next {@code pgmesh run} applies it.
 */
public final class ApplyStoppedException extends RuntimeException {
    public ApplyStoppedException(String message) {
        super(message);
    }
}
