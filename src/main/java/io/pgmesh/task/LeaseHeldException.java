package io.pgmesh.task;

/**
 * Another process holds the task's lease: this one stands by. {@code foreign}: that process runs
 * another mesh file, which is a fault to fix rather than a standby.
 */
final class LeaseHeldException extends Exception {
    private final boolean foreign;

    LeaseHeldException(String message, boolean foreign) {
        super(message);
        this.foreign = foreign;
    }

    boolean foreign() {
        return foreign;
    }
}
