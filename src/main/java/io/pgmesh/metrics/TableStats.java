package io.pgmesh.metrics;

import io.pgmesh.apply.AppliedChanges;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Changes one task applied to one table since its process started, like DMS's table statistics. */
public record TableStats(String table, long inserts, long updates, long deletes, long truncates) {

    /** Every table the task has applied a change to, by name. */
    public static List<TableStats> of(TaskMetrics m) {
        Map<String, long[]> byTable = new TreeMap<>();
        m.tableOps().forEach((k, n) -> byTable.computeIfAbsent(k.table(), t -> new long[4])[k.op().ordinal()] += n);
        List<TableStats> out = new ArrayList<>();
        byTable.forEach((table, n) -> out.add(new TableStats(table, n[AppliedChanges.Op.INSERT.ordinal()],
                n[AppliedChanges.Op.UPDATE.ordinal()], n[AppliedChanges.Op.DELETE.ordinal()],
                n[AppliedChanges.Op.TRUNCATE.ordinal()])));
        return out;
    }
}
