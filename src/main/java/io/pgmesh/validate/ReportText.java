package io.pgmesh.validate;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.stream.Collectors;

/** Prints a {@link ValidationReport} for people: one line per table, its differences indented, a summary. */
public final class ReportText {
    private ReportText() {
    }

    public static void print(ValidationReport r, PrintWriter out) {
        if (!r.caughtUp()) {
            out.println("note: " + r.catchUpProblem() + "; differences may include changes not yet replicated");
        }
        int width = r.tables().stream().mapToInt(t -> t.table().length()).max().orElse(0);
        String nodes = String.join(", ", r.nodes());
        for (TableReport t : r.tables()) {
            String head = String.format("%-" + width + "s  %s  ", t.table(), rows(t.rows().values(), t));
            switch (t.verdict()) {
                case IDENTICAL -> out.println(head + "identical on " + nodes);
                case UNSETTLED -> out.println(head + "no difference found on " + nodes + ", some keys not judged"
                        + unchecked(t));
                case DIFFERENT -> out.println(head + "DIFFERENT: " + t.differingKeys() + (t.differingKeys() == 1 ? " key" : " keys")
                        + unchecked(t));
            }
            for (KeyDifference d : t.differences()) {
                out.println("    " + d.key() + "  " + d.detail());
            }
            if (!t.busyKeys().isEmpty()) {
                out.println("    still changing (busy keys), not judged: " + String.join(", ", t.busyKeys()));
            }
            for (String note : t.notes()) {
                out.println("    note: " + note);
            }
        }
        out.println(summary(r));
        if (r.unsettled()) {
            out.println("UNSETTLED: no difference found, but keys above were not judged (they kept changing, or"
                    + " were beyond the 10,000 re-checked per table); run validate again when writes to them pause");
        }
        out.flush();
    }

    private static String unchecked(TableReport t) {
        return t.uncheckedKeys() == 0 ? "" : ", and " + t.uncheckedKeys() + " more keys differed in the scan, not re-checked";
    }

    private static String rows(Collection<Long> counts, TableReport t) {
        if (counts.isEmpty()) {
            return "";
        }
        if (new HashSet<>(counts).size() == 1) {
            long n = counts.iterator().next();
            return n + (n == 1 ? " row" : " rows");
        }
        return t.rows().entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", ")) + " rows";
    }

    static String summary(ValidationReport r) {
        long different = r.count(TableReport.Verdict.DIFFERENT);
        long unsettled = r.count(TableReport.Verdict.UNSETTLED);
        String tables = r.tables().size() + (r.tables().size() == 1 ? " table" : " tables");
        if (r.tables().isEmpty()) {
            return "no replicated tables (no node has tables in publication pgmesh)";
        }
        List<String> parts = new java.util.ArrayList<>();
        parts.add(r.count(TableReport.Verdict.IDENTICAL) + " identical");
        if (unsettled > 0) {
            parts.add(unsettled + " with busy keys not judged");
        }
        if (different > 0) {
            parts.add(different + " different");
        }
        return tables + " on " + String.join(", ", r.nodes()) + ": " + String.join(", ", parts);
    }
}
