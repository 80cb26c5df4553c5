package io.pgmesh.task;

/** A node of the task is not complete yet (its initial load is pending or running): the task waits. */
final class LoadPendingException extends Exception {
    LoadPendingException(String message) {
        super(message);
    }
}
