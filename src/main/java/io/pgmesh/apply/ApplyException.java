package io.pgmesh.apply;

/** A change that cannot be applied as it stands (missing table or column); the task retries it. */
public final class ApplyException extends RuntimeException {
    public ApplyException(String message) {
        super(message);
    }
}
