package io.pgmesh.task;

/**
 * A task must not run until a person acts (the message says how); retrying would not help, so the
 * task stops for good instead of retrying.
 */
public class TaskBlockedException extends Exception {
    public TaskBlockedException(String message) {
        super(message);
    }
}
