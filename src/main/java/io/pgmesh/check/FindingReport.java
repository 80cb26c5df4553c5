package io.pgmesh.check;

import java.util.List;

/** Findings as text for a person: one block per finding, then a summary line. */
public final class FindingReport {

    private FindingReport() {
    }

    /**
     * <pre>
     * ERROR east wal_level: wal_level is replica, not logical
     *     why: ...
     *     fix: ...
     * </pre>
     * A finding about the mesh as a whole has no node name.
     */
    public static String text(List<Finding> findings) {
        StringBuilder out = new StringBuilder();
        for (Finding f : findings) {
            out.append(f.severity()).append(' ');
            if (f.node() != null) {
                out.append(f.node()).append(' ');
            }
            out.append(f.code()).append(": ").append(f.what()).append('\n')
                    .append("    why: ").append(f.why()).append('\n')
                    .append("    fix: ").append(f.fix()).append('\n');
        }
        return out.append(summary(findings)).append('\n').toString();
    }

    /** "2 errors, 1 warning", or that the mesh is ready. */
    public static String summary(List<Finding> findings) {
        long errors = findings.stream().filter(Finding::isError).count();
        long warnings = findings.size() - errors;
        if (findings.isEmpty()) {
            return "no problems found: the mesh is ready for init";
        }
        return count(errors, "error") + ", " + count(warnings, "warning");
    }

    private static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
