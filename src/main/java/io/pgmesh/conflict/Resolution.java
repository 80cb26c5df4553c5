package io.pgmesh.conflict;

/** What the applier does about a conflict. */
public enum Resolution {
    /** Write the remote change over the local version (a row, or the delete that removed it). */
    APPLY_REMOTE,
    /** Leave the local version as it is; the remote change is dropped. */
    KEEP_LOCAL,
    /** Nothing here to apply to or keep; the remote change is dropped. */
    SKIP,
    /** No rule decides: the change is unresolvable, and the task's on-error setting says what happens. */
    ERROR;

    public String label() {
        return name().toLowerCase();
    }
}
