package io.pgmesh.validate;

import java.util.List;

/**
 * The comparison of a mesh: one report per replicated table.
 *
 * @param identical      every key of every table was judged, and none differs
 * @param unsettled      no table differs, but some keys were not judged: they kept changing on
 *                       every re-read, or were beyond the keys re-checked per table
 * @param nodes          the nodes compared, in mesh order
 * @param caughtUp       every wait for replication to catch up completed, so no difference reported
 *                       can be a change that was in flight
 * @param catchUpProblem why the nodes may not have been at a common point, or null
 * @param tables         per table, in name order
 */
public record ValidationReport(boolean identical, boolean unsettled, List<String> nodes, boolean caughtUp,
                               String catchUpProblem, List<TableReport> tables) {

    public ValidationReport {
        nodes = List.copyOf(nodes);
        tables = List.copyOf(tables);
    }

    static ValidationReport of(List<String> nodes, CatchUpGate gate, List<TableReport> tables) {
        boolean different = tables.stream().anyMatch(t -> t.verdict() == TableReport.Verdict.DIFFERENT);
        boolean unsettled = !different && tables.stream().anyMatch(t -> t.verdict() == TableReport.Verdict.UNSETTLED);
        return new ValidationReport(!different && !unsettled, unsettled, nodes, gate.caughtUp(), gate.problem(), tables);
    }

    public long count(TableReport.Verdict verdict) {
        return tables.stream().filter(t -> t.verdict() == verdict).count();
    }
}
