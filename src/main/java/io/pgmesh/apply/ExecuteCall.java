package io.pgmesh.apply;

import io.pgmesh.wal.TupleData;

/**
 * Builds {@code EXECUTE name('v1', NULL, ...)} with the values as untyped SQL literals. Valid
 * because the apply session runs with standard_conforming_strings on: inside '...' only the
 * quote itself is special.
 */
final class ExecuteCall {
    private final StringBuilder sql;
    private boolean first = true;

    ExecuteCall(String preparedName) {
        sql = new StringBuilder(64).append("EXECUTE ").append(preparedName).append('(');
    }

    /** Appends {@code tuple}'s columns at {@code indexes}. */
    ExecuteCall values(TupleData tuple, int[] indexes) {
        for (int i : indexes) {
            separate();
            switch (tuple.kind(i)) {
                case NULL -> sql.append("NULL");
                case TEXT -> quote(sql, tuple.text(i));
                default -> throw new IllegalStateException("column " + i + " has no value to write (" + tuple.kind(i) + ")");
            }
        }
        return this;
    }

    /** Appends one text value. */
    ExecuteCall text(String value) {
        separate();
        quote(sql, value);
        return this;
    }

    String sql() {
        return sql.append(')').toString();
    }

    private void separate() {
        if (!first) {
            sql.append(", ");
        }
        first = false;
    }

    static void quote(StringBuilder sql, String value) {
        sql.append('\'');
        int from = 0;
        int q;
        while ((q = value.indexOf('\'', from)) >= 0) {
            sql.append(value, from, q + 1).append('\'');
            from = q + 1;
        }
        sql.append(value, from, value.length()).append('\'');
    }
}
