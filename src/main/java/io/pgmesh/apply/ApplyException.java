package io.pgmesh.apply;

/** A change that cannot be applied as it stands (missing table or column): an unresolvable change. */
public final class ApplyException extends RuntimeException {
    private final String sqlState;

    public ApplyException(String message, String sqlState) {
        super(message);
        this.sqlState = sqlState;
    }

    /** The SQLSTATE the server would have given, or null. */
    public String sqlState() {
        return sqlState;
    }
}
