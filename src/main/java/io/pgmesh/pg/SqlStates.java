package io.pgmesh.pg;

import java.sql.SQLException;

/** The one place that decides whether a database error is worth retrying. */
public final class SqlStates {
    public static final String UNDEFINED_TABLE = "42P01";
    public static final String UNDEFINED_COLUMN = "42703";
    public static final String INSUFFICIENT_PRIVILEGE = "42501";
    public static final String LOCK_NOT_AVAILABLE = "55P03";
    public static final String OBJECT_IN_USE = "55006";

    private SqlStates() {
    }

    public static String of(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException se && se.getSQLState() != null) {
                return se.getSQLState();
            }
        }
        return "";
    }

    /** Connection loss, server shutdown, serialization failures, objects in use by another process. */
    public static boolean isTransient(Throwable t) {
        String state = of(t);
        return state.startsWith("08") || state.startsWith("57") || state.startsWith("53")
                || state.equals("40001") || state.equals("40P01") || state.equals(OBJECT_IN_USE);
    }

    /**
     * True when the change itself cannot be applied as it stands, whatever the state of the
     * connection: data exceptions (a value the column's type refuses), integrity violations (a
     * unique index other than the key, NOT NULL, CHECK), a missing table or column or another
     * schema mismatch, a statement the target refuses for the table (a TRUNCATE of a table that
     * another references: feature_not_supported), and an exception raised by a trigger. Retrying
     * would meet it again.
     */
    public static boolean isChangeError(Throwable t) {
        String state = of(t);
        return state.startsWith("22") || state.equals("0A000") || state.startsWith("23") || state.startsWith("42") || state.startsWith("44")
                || state.equals("P0001");
    }
}
