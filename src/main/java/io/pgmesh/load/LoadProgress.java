package io.pgmesh.load;

import io.pgmesh.pg.TableName;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the initial load has copied, per table, and how it is shown: on a terminal a block of
 * lines redrawn every second, otherwise plain lines that log files and CI keep readable.
 */
public final class LoadProgress {

    /** One table's counters; rows and bytes grow as chunks stream. */
    static final class TableProgress {
        final TableName name;
        final long estimatedRows;
        final int chunks;
        final AtomicLong rows = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicInteger chunksDone = new AtomicInteger();
        volatile long startedNanos;
        volatile long finishedNanos;

        TableProgress(TableName name, long estimatedRows, int chunks) {
            this.name = name;
            this.estimatedRows = estimatedRows;
            this.chunks = chunks;
        }

        boolean done() {
            return finishedNanos != 0;
        }
    }

    private final Map<TableName, TableProgress> tables = new LinkedHashMap<>();
    private final PrintWriter out;
    private final boolean terminal;
    private final String label;
    private int linesDrawn;
    private long lastPlainNanos;

    public LoadProgress(PrintWriter out, boolean terminal, String label) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
    }

    synchronized void table(TableName name, long estimatedRows, int chunks) {
        tables.put(name, new TableProgress(name, estimatedRows, chunks));
    }

    void chunkStarted(TableName name) {
        TableProgress t = tables.get(name);
        synchronized (t) {
            if (t.startedNanos == 0) {
                t.startedNanos = System.nanoTime();
            }
        }
    }

    CopyPipe.Progress counter(TableName name) {
        TableProgress t = tables.get(name);
        return (rows, bytes) -> {
            t.rows.addAndGet(rows);
            t.bytes.addAndGet(bytes);
        };
    }

    /** Counts a finished chunk; true when it was the table's last. */
    boolean chunkDone(TableName name) {
        TableProgress t = tables.get(name);
        if (t.chunksDone.incrementAndGet() == t.chunks) {
            t.finishedNanos = System.nanoTime();
            if (!terminal) {
                synchronized (this) {
                    out.println(line(t));
                    out.flush();
                }
            }
            return true;
        }
        return false;
    }

    public long totalRows() {
        return tables.values().stream().mapToLong(t -> t.rows.get()).sum();
    }

    public long totalBytes() {
        return tables.values().stream().mapToLong(t -> t.bytes.get()).sum();
    }

    /** Called about once a second while the load runs. */
    synchronized void show() {
        if (terminal) {
            if (linesDrawn > 0) {
                out.print("\033[" + linesDrawn + "F");
            }
            linesDrawn = 0;
            for (TableProgress t : tables.values()) {
                out.print("\033[2K" + line(t) + "\n");
                linesDrawn++;
            }
            out.flush();
        } else if (System.nanoTime() - lastPlainNanos > 5_000_000_000L) {
            lastPlainNanos = System.nanoTime();
            for (TableProgress t : tables.values()) {
                if (t.startedNanos != 0 && !t.done()) {
                    out.println(line(t));
                }
            }
            out.flush();
        }
    }

    String line(TableProgress t) {
        long rows = t.rows.get();
        long now = t.done() ? t.finishedNanos : System.nanoTime();
        double seconds = t.startedNanos == 0 ? 0 : (now - t.startedNanos) / 1e9;
        double rate = seconds > 0 ? rows / seconds : 0;
        String state;
        if (t.done()) {
            state = String.format("done in %.1f s", seconds);
        } else if (t.startedNanos == 0) {
            state = "waiting";
        } else if (rate > 0 && t.estimatedRows > rows) {
            state = String.format("ETA %.0f s", (t.estimatedRows - rows) / rate);
        } else {
            state = "copying";
        }
        return String.format("  %s %-30s %,12d rows %9s %,10.0f rows/s  %s", label, t.name, rows,
                megabytes(t.bytes.get()), rate, state);
    }

    private static String megabytes(long bytes) {
        return String.format("%.1f MB", bytes / 1048576.0);
    }
}
