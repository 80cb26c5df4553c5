package io.pgmesh.load;

import io.pgmesh.pg.Ident;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;
import org.postgresql.copy.PGCopyOutputStream;

/**
 * Streams one chunk from the source to the target as binary COPY: rows are forwarded as they
 * arrive, through a fixed buffer, so memory does not grow with the table. Columns are named on
 * both sides, so the target may order them differently.
 */
public final class CopyPipe {
    private static final int BUFFER_BYTES = 1 << 16;

    /** Counts what went through, for the progress display. */
    public interface Progress {
        void copied(long rows, long bytes);
    }

    private CopyPipe() {
    }

    /**
     * Copies {@code chunk}; the source connection reads inside the load's snapshot. Returns rows
     * copied. With {@code freeze} (only for a whole table that the load created and nobody else
     * can see yet) the table is emptied and filled in one transaction with COPY FREEZE: its rows
     * are written frozen, so the key builds that read them next, and every later reader, do not
     * have to look up and set their commit status row by row.
     */
    public static long copy(CopyChunk chunk, Connection source, Connection target, boolean freeze, Progress progress)
            throws SQLException, IOException {
        if (!freeze) {
            return copy(chunk, source, target, "", progress);
        }
        target.setAutoCommit(false);
        try {
            try (var st = target.createStatement()) {
                st.execute("TRUNCATE " + chunk.table().name().quoted());
            }
            long rows = copy(chunk, source, target, ", FREEZE", progress);
            target.commit();
            return rows;
        } catch (SQLException | IOException | RuntimeException e) {
            target.rollback();
            throw e;
        } finally {
            target.setAutoCommit(true);
        }
    }

    private static long copy(CopyChunk chunk, Connection source, Connection target, String options, Progress progress)
            throws SQLException, IOException {
        String columns = chunk.table().copiedColumns().stream().map(c -> Ident.quote(c.name()))
                .collect(Collectors.joining(", "));
        String table = chunk.table().name().quoted();
        // A whole table is read by COPY itself, which skips the executor that a query (a slice) needs.
        String what = chunk.predicate().isEmpty() ? table + " (" + columns + ")"
                : "(SELECT " + columns + " FROM ONLY " + table + chunk.predicate() + ")";
        CopyOut out = source.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY " + what + " TO STDOUT (FORMAT binary)");
        long messages = 0;
        try {
            CopyIn in = target.unwrap(PGConnection.class).getCopyAPI()
                    .copyIn("COPY " + table + " (" + columns + ") FROM STDIN (FORMAT binary" + options + ")");
            // Not try-with-resources: closing the stream ends the COPY, which would commit a
            // partial chunk when the source fails half way; a failure must cancel it instead.
            PGCopyOutputStream sink = new PGCopyOutputStream(in, BUFFER_BYTES);
            try {
                byte[] row;
                long pendingRows = 0;
                long pendingBytes = 0;
                while ((row = out.readFromCopy()) != null) {
                    sink.write(row);
                    messages++;
                    pendingRows++;
                    pendingBytes += row.length;
                    if (pendingRows == 10_000) {
                        progress.copied(pendingRows, pendingBytes);
                        pendingRows = 0;
                        pendingBytes = 0;
                    }
                }
                // The binary trailer travels in a message of its own; it is not a row.
                progress.copied(pendingRows - 1, pendingBytes);
                sink.endCopy();
            } catch (SQLException | IOException | RuntimeException e) {
                if (in.isActive()) {
                    in.cancelCopy();
                }
                throw e;
            }
        } finally {
            if (out.isActive()) {
                out.cancelCopy();
            }
        }
        return Math.max(0, messages - 1);
    }
}
