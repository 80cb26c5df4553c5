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

    private final Map<TableOp, long[]> counts = new LinkedHashMap<>();

    void add(String table, Op op) {
        counts.computeIfAbsent(new TableOp(table, op), k -> new long[1])[0]++;
    }

    public void forEach(BiConsumer<TableOp, Long> action) {
        counts.forEach((k, v) -> action.accept(k, v[0]));
    }
}
