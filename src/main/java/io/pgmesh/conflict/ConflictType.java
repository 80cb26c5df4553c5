package io.pgmesh.conflict;

/** The ways a remote change can meet a local row it does not expect (DESIGN.md, "Conflicts"). */
public enum ConflictType {
    /** Remote INSERT, a row with that key exists. */
    INSERT_EXISTS,
    /** Remote UPDATE, the local row was last written by another origin. */
    UPDATE_DIFFERS,
    /** Remote UPDATE, no such row. */
    UPDATE_MISSING,
    /** Remote DELETE, the local row was last written by another origin. */
    DELETE_DIFFERS,
    /** Remote DELETE, no such row. */
    DELETE_MISSING;

    public String label() {
        return name().toLowerCase();
    }
}
