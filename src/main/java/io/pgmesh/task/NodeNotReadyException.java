package io.pgmesh.task;

/** A node's settings do not allow replication yet; the message says what to change. Retried. */
public final class NodeNotReadyException extends Exception {
    public NodeNotReadyException(String message) {
        super(message);
    }
}
