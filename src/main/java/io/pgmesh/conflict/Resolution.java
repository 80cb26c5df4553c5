package io.pgmesh.conflict;

/** What the applier does about a conflict. */
public enum Resolution {
    /** Write the remote change over the local row. */
    APPLY_REMOTE,
    /** Leave the local row as it is; the remote change is dropped. */
    KEEP_LOCAL,
    /** Nothing to apply to (the row is gone); the remote change is dropped. */
    SKIP;

    public String label() {
        return name().toLowerCase();
    }
}
