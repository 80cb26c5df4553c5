package io.pgmesh.capture;

/**
 * A task's slot is gone or invalidated although its target has applied changes from it: the
 * changes in between are lost to replication, and only a resync repairs that. Never retried.
 */
public final class SlotLostException extends Exception {
    public SlotLostException(String message) {
        super(message);
    }
}
