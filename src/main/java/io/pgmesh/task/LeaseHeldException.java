package io.pgmesh.task;

/** Another process holds the task's lease: this one stands by. */
final class LeaseHeldException extends Exception {
    LeaseHeldException(String message) {
        super(message);
    }
}
