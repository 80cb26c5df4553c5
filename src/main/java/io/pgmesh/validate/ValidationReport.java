package io.pgmesh.validate;

import java.util.List;

/**
 * The comparison of a mesh: one report per replicated table.
 *
 * @param identical      no table differs (tables with busy keys count as not differing)
 * @param nodes          the nodes compared, in mesh order
 * @param caughtUp       every wait for replication to catch up completed, so no difference reported
 *                       can be a change that was in flight
 * @param catchUpProblem why the nodes may not have been at a common point, or null
 * @param tables         per table, in name order
 */
public record ValidationReport(boolean identical, List<String> nodes, boolean caughtUp, String catchUpProblem,
                               List<TableReport> tables) {

    public ValidationReport {
        nodes = List.copyOf(nodes);
        tables = List.copyOf(tables);
    }

    static ValidationReport of(List<String> nodes, CatchUpGate gate, List<TableReport> tables) {
        boolean identical = tables.stream().noneMatch(t -> t.verdict() == TableReport.Verdict.DIFFERENT);
        return new ValidationReport(identical, nodes, gate.caughtUp(), gate.problem(), tables);
    }

    public long count(TableReport.Verdict verdict) {
        return tables.stream().filter(t -> t.verdict() == verdict).count();
    }
}
