package io.pgmesh.apply;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The row changes of one source transaction, per table and operation: tallied as the
 * transaction arrives and reported once it commits on the target, so a transaction rolled back
 * and received again counts once.
 */
public final class AppliedChanges {
    /** What a change did to its table, as the metrics and table statistics name it. */
    public enum Op {
        INSERT, UPDATE, DELETE, TRUNCATE;

        public String label() {
            return name().toLowerCase();
        }
    }

    /** A table and an operation: the key of one count. */
    public record TableOp(String table, Op op) {
    }

    public static final AppliedChanges NONE = new AppliedChanges();

    /** Per table, a count per operation (by ordinal): no allocation per change once a table is seen. */
    private final Map<String, long[]> counts = new LinkedHashMap<>();

    public void add(String table, Op op) {
        counts.computeIfAbsent(table, k -> new long[Op.values().length])[op.ordinal()]++;
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
}
