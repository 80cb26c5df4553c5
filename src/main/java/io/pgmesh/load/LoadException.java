package io.pgmesh.load;

/** The initial load cannot go on; the message says why and what to do. */
public final class LoadException extends Exception {
    public LoadException(String message) {
        super(message);
    }
}
