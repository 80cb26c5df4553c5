package io.pgmesh.task;

/** The life of a task, one state at a time; every change is one log line. */
public enum TaskState {
    CONNECTING, STREAMING, RETRYING, WAITING, FAILED, STOPPED,
    /** Another run process holds the task's lease; this one takes over if that one goes. */
    STANDBY;

    public String label() {
        return name().toLowerCase();
    }
}
