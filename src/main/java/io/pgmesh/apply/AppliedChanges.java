package io.pgmesh.apply;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * What one source transaction did on the target: its row changes per table and operation, and
 * the conflicts and apply errors they met. Tallied as the transaction is received and applied,
 * reported once it commits, so that a transaction rolled back and applied again counts once, as
 * pgmesh.conflicts and pgmesh.apply_errors hold its rows once.
 */
public final class AppliedChanges {
    /** What a change did to its table, as the metrics and table statistics name it. */
    public enum Op {
        INSERT, UPDATE, DELETE, TRUNCATE;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A table and an operation: the key of one count. */
    public record TableOp(String table, Op op) {
    }

    /** A conflict, as it was recorded in pgmesh.conflicts. */
    public record ConflictMet(String table, String type, String resolution) {
    }

    /** Per table, a count per operation (by ordinal): no allocation per change once a table is seen. */
    private final Map<String, long[]> counts = new LinkedHashMap<>();
    private final List<ConflictMet> conflicts = new ArrayList<>(0);
    private final List<String> errorTables = new ArrayList<>(0);

    public void add(String table, Op op) {
        counts.computeIfAbsent(table, k -> new long[Op.values().length])[op.ordinal()]++;
    }

    public void conflict(ConflictMet c) {
        conflicts.add(c);
    }

    public void applyError(String table) {
        errorTables.add(table);
    }

    public void forEach(BiConsumer<TableOp, Long> action) {
        Op[] ops = Op.values();
        counts.forEach((table, n) -> {
            for (Op op : ops) {
                if (n[op.ordinal()] > 0) {
                    action.accept(new TableOp(table, op), n[op.ordinal()]);
                }
            }
        });
    }

    public List<ConflictMet> conflicts() {
        return conflicts;
    }

    /** The table of each change that was recorded in pgmesh.apply_errors. */
    public List<String> applyErrors() {
        return errorTables;
    }
}
