package io.pgmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgmesh.monitor.ConflictReport;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgmesh conflicts}: the recent conflicts and quarantined changes of every node, one line each. */
@Command(name = "conflicts", description = "List the conflicts and the quarantined changes (apply errors) of every node.")
final class ConflictsCommand implements Callable<Integer> {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS")
            .withZone(ZoneOffset.UTC);

    @Mixin
    ConfigOption config;

    @Option(names = "--since", paramLabel = "DURATION|TIMESTAMP", defaultValue = "24h",
            description = "how far back: 30m, 2h, 7d, or a moment such as 2026-05-01T10:00:00Z (default: ${DEFAULT-VALUE})")
    String since;

    @Option(names = "--json", description = "print a JSON list of objects with both row images")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Instant from = SinceOption.parse(since, Instant.now());
        io.pgmesh.config.MeshConfig mesh = config.load();
        ConflictReport report = ConflictReport.read(mesh, from);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report.events()));
        } else {
            print(report, from, out);
            retentionNote(mesh.monitor().retention(), from, Instant.now()).ifPresent(out::println);
        }
        out.flush();
        report.unreachable().forEach(spec.commandLine().getErr()::println);
        return report.unreachable().isEmpty() ? Main.OK : Main.FAILED;
    }

    private static void print(ConflictReport report, Instant from, PrintWriter out) {
        if (report.events().isEmpty()) {
            out.println("no conflicts and no apply errors since " + TIME.format(from) + " UTC");
            return;
        }
        for (ConflictReport.Event e : report.events()) {
            out.println(line(e));
        }
        long errors = report.events().stream().filter(e -> e.kind().equals("apply_error")).count();
        out.println((report.events().size() - errors) + " conflict(s), " + errors + " apply error(s) since "
                + TIME.format(from) + " UTC" + (errors == 0 ? ""
                : "; pgmesh retry -c FILE NODE:ID applies one once its cause is fixed, pgmesh discard drops it"));
    }

    /** When the window reaches past what retention keeps, a line saying that older rows are gone. */
    static java.util.Optional<String> retentionNote(io.pgmesh.config.MonitorSettings.Retention keep, Instant from,
                                                    Instant now) {
        java.util.List<String> gone = new java.util.ArrayList<>();
        if (from.isBefore(now.minus(keep.conflicts()))) {
            gone.add("conflicts older than " + keep.conflicts().toDays() + "d (retention.conflicts)");
        }
        if (from.isBefore(now.minus(keep.applyErrors()))) {
            gone.add("apply errors older than " + keep.applyErrors().toDays() + "d (retention.apply-errors)");
        }
        return gone.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of("note: " + String.join(" and ", gone)
                + " were removed by pgmesh run; pgmesh_conflicts_total and pgmesh_apply_errors_total count them on");
    }

    /** WHEN NODE TABLE TYPE KEY from SOURCE: DECISION, or for an apply error its id and error. */
    static String line(ConflictReport.Event e) {
        boolean error = e.kind().equals("apply_error");
        String outcome = error ? "ERROR " + e.id() + ": " + e.error() : e.resolution();
        return String.format("%s  %-8s %-28s %-15s %-20s from %-8s %s", TIME.format(e.recordedAt()), e.node(),
                e.table(), e.type(), e.key() == null ? "-" : e.key(), e.sourceNode(), outcome);
    }
}
