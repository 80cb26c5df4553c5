package io.pgmesh.ids;

/** Partitioning cannot go on; the message names the node and the sequence and is fit for the user. */
public final class PartitionException extends RuntimeException {
    public PartitionException(String message) {
        super(message);
    }

    public PartitionException(String message, Throwable cause) {
        super(message, cause);
    }
}
