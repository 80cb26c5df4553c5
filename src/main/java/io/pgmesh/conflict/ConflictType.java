package io.pgmesh.conflict;

/** The ways a remote change can meet a local row it does not expect (docs/ARCHITECTURE.md, "Conflicts"). */
public enum ConflictType {
    /** Remote INSERT, a row with that key exists. */
    INSERT_EXISTS(true),
    /** Remote INSERT, no row with that key, but this node deleted one by a change of another origin. */
    INSERT_DELETED(false),
    /** Remote UPDATE, the local row was last written by another origin. */
    UPDATE_DIFFERS(true),
    /** Remote UPDATE, no such row. */
    UPDATE_MISSING(false),
    /** Remote DELETE, the local row was last written by another origin. */
    DELETE_DIFFERS(true),
    /** Remote DELETE, no such row. */
    DELETE_MISSING(false);

    private final boolean localRow;

    ConflictType(boolean localRow) {
        this.localRow = localRow;
    }

    /**
     * True when the remote change met a local row. Otherwise the local version, if any, is the
     * delete that removed the row (its tombstone).
     */
    public boolean localRowExists() {
        return localRow;
    }

    public String label() {
        return name().toLowerCase();
    }
}
