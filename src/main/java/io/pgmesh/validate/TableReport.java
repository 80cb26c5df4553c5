package io.pgmesh.validate;

import java.util.List;
import java.util.Map;

/**
 * The comparison of one table across the mesh.
 *
 * @param table         {@code schema.table}
 * @param verdict       identical, different, or not judged because rows kept changing
 * @param rows          per node, in mesh order, rows counted by the scan (absent where the table is missing)
 * @param differingKeys how many keys were found to differ
 * @param differences   the first of them, with what differs
 * @param settledKeys   keys that differed in the scan but not when read again after catch-up: changes in flight
 * @param uncheckedKeys keys that differed in the scan beyond the ones kept for re-checking (see
 *                      {@link TableCheck#CANDIDATE_LIMIT}): not judged, only counted
 * @param busyKeys      keys that changed in every re-check, so were not judged
 * @param notes         what was left out of the comparison, and anything that limits the verdict
 * @param repairKeys    every confirmed differing key of a keyed table, for a repair (not in the
 *                      JSON report, which names the keys); null for a multiset table or none
 */
public record TableReport(String table, Verdict verdict, Map<String, Long> rows, long differingKeys,
                          List<KeyDifference> differences, long settledKeys, long uncheckedKeys,
                          List<String> busyKeys, List<String> notes,
                          @com.fasterxml.jackson.annotation.JsonIgnore RepairKeys repairKeys) {

    /**
     * What a repair needs to find the differing rows.
     *
     * @param table   the table
     * @param columns its key columns
     * @param values  per differing key, its columns' values as text
     */
    public record RepairKeys(io.pgmesh.pg.TableName table, List<String> columns, List<List<String>> values) {
        public RepairKeys {
            columns = List.copyOf(columns);
            values = List.copyOf(values);
        }
    }

    public TableReport(String table, Verdict verdict, Map<String, Long> rows, long differingKeys,
                       List<KeyDifference> differences, long settledKeys, long uncheckedKeys, List<String> busyKeys,
                       List<String> notes) {
        this(table, verdict, rows, differingKeys, differences, settledKeys, uncheckedKeys, busyKeys, notes, null);
    }

    public enum Verdict {
        IDENTICAL,
        DIFFERENT,
        /** No difference found, but some keys changed every time they were read and were not judged. */
        UNSETTLED
    }

    public TableReport {
        rows = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(rows));
        differences = List.copyOf(differences);
        busyKeys = List.copyOf(busyKeys);
        notes = List.copyOf(notes);

    }
}
