package io.pgmesh.apply;

/**
 * A change that no conflict rule can decide: a unique index other than the key collides, the target
 * lacks the table or a column, the column's type refuses the value, or the table's resolution is
 * {@code error}. The task's on-error setting says what happens to it.
 */
final class UnresolvableChangeException extends RuntimeException {
    private final String sqlState;

    UnresolvableChangeException(String reason, String sqlState) {
        super(reason);
        this.sqlState = sqlState;
    }

    /** The server's SQLSTATE, or null when pgmesh itself refused the change. */
    String sqlState() {
        return sqlState;
    }
}
