package io.pgmesh.apply;

import io.pgmesh.pg.Ident;
import io.pgmesh.wal.TupleData;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * A run of INSERTs into one table, inside a transaction too big for one batch, that goes to the
 * target as COPY: a statement per hundred rows costs the server twice what COPY costs per row.
 * Rows are encoded in COPY's text format as they come (values as the source printed them) and
 * sent when the run ends or reaches its size, so memory stays bounded.
 */
final class CopyRun {
    private static final int MAX_BYTES = 1 << 20;

    private final StringBuilder data = new StringBuilder(MAX_BYTES + (MAX_BYTES >> 3));
    private TableMapping table;
    private int[] columns;
    private int rows;
    /** Per key column, the run's keys as an array literal in the making (only for a table with tombstones). */
    private StringBuilder[] keys;

    boolean isEmpty() {
        return rows == 0;
    }

    /** True when {@code row} cannot join this run: another table, or other columns sent. */
    boolean breaksOn(TableMapping m, int[] cols) {
        return rows > 0 && (m != table || !Arrays.equals(cols, columns));
    }

    boolean isFull() {
        return data.length() >= MAX_BYTES;
    }

    TableMapping table() {
        return table;
    }

    void add(TableMapping m, int[] cols, TupleData row) {
        if (rows == 0) {
            table = m;
            columns = cols;
            keys = m.tombstones() == null ? null : new StringBuilder[m.key().length];
        }
        if (keys != null) {
            for (int k = 0; k < keys.length; k++) {
                if (keys[k] == null) {
                    keys[k] = new StringBuilder("{");
                } else {
                    keys[k].append(',');
                }
                arrayElement(keys[k], row.text(m.key()[k]));
            }
        }
        for (int k = 0; k < cols.length; k++) {
            if (k > 0) {
                data.append('\t');
            }
            switch (row.kind(cols[k])) {
                case NULL -> data.append("\\N");
                case TEXT -> escape(data, row.text(cols[k]));
                default -> throw new IllegalStateException("column " + cols[k] + " has no value to write (" + row.kind(cols[k]) + ")");
            }
        }
        data.append('\n');
        rows++;
    }

    /** The run's keys, one array literal per key column, or null when its table has no tombstones. */
    String[] keyArrays() {
        if (keys == null || rows == 0) {
            return null;
        }
        String[] arrays = new String[keys.length];
        for (int k = 0; k < keys.length; k++) {
            arrays[k] = keys[k] + "}";
        }
        return arrays;
    }

    /** Sends the run as one COPY on {@code conn}, inside its open transaction; returns the rows sent. */
    int send(Connection conn) throws SQLException {
        if (rows == 0) {
            return 0;
        }
        String sql = "COPY " + table.table().quoted() + " ("
                + table.names(columns).stream().map(Ident::quote).collect(Collectors.joining(", ")) + ") FROM STDIN";
        CopyIn in = conn.unwrap(PGConnection.class).getCopyAPI().copyIn(sql);
        try {
            byte[] bytes = data.toString().getBytes(StandardCharsets.UTF_8);
            in.writeToCopy(bytes, 0, bytes.length);
            in.endCopy();
        } catch (SQLException | RuntimeException e) {
            if (in.isActive()) {
                in.cancelCopy();
            }
            throw e;
        }
        int sent = rows;
        clear();
        return sent;
    }

    void clear() {
        data.setLength(0);
        rows = 0;
        table = null;
        columns = null;
        keys = null;
    }

    /** An element of an array literal, always quoted: only the quote and the backslash are special inside. */
    static void arrayElement(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\');
            }
            out.append(c);
        }
        out.append('"');
    }

    /** COPY's text format: backslash, and the characters that end a field or a row, are escaped. */
    static void escape(StringBuilder out, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(c);
            }
        }
    }
}
