package io.pgmesh.pg;

import java.sql.SQLException;

/** The one place that decides whether a database error is worth retrying. */
public final class SqlStates {
    public static final String UNDEFINED_TABLE = "42P01";
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
}
