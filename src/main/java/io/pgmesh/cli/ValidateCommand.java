package io.pgmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.validate.Repair;
import io.pgmesh.validate.ReportText;
import io.pgmesh.validate.ValidateOptions;
import io.pgmesh.validate.ValidationException;
import io.pgmesh.validate.ValidationReport;
import io.pgmesh.validate.Validator;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pgmesh validate}: are the replicated tables the same on every node? Exit 0 identical,
 * 1 different or unreachable, 3 nothing different but some keys not judged.
 */
@Command(name = "validate", description = "Compare every replicated table across all nodes: counts, hashes, differing keys.")
final class ValidateCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "print JSON instead of text")
    boolean json;

    @Option(names = "--catch-up-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "how long to wait for replication to catch up, each time (default ${DEFAULT-VALUE})")
    int catchUpTimeout;

    @Option(names = "--repair", description = "make every differing key on the other nodes equal to --from's row;"
            + " prints each key it changes")
    boolean repair;

    @Option(names = "--from", paramLabel = "NODE", description = "with --repair: the node whose rows are right")
    String from;

    @Option(names = "--dry-run", description = "with --repair: print the keys it would change; change nothing")
    boolean dryRun;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (catchUpTimeout < 0) {
            throw new ExitException(Main.USAGE, "validate: --catch-up-timeout: expected 0 or more seconds, got " + catchUpTimeout);
        }
        if ((from != null || dryRun) && !repair) {
            throw new ExitException(Main.USAGE, "validate: --from and --dry-run go with --repair");
        }
        if (repair && from == null) {
            throw new ExitException(Main.USAGE, "validate: --repair needs --from NODE, the node whose rows are right");
        }
        var mesh = config.load();
        NodeConfig truth = null;
        if (repair) {
            try {
                truth = mesh.node(from);
            } catch (IllegalArgumentException e) {
                throw new ExitException(Main.USAGE, "validate: --from: " + e.getMessage());
            }
        }
        ValidateOptions options = ValidateOptions.defaults().withCatchUpTimeout(Duration.ofSeconds(catchUpTimeout));
        ValidationReport report;
        try {
            report = Validator.run(mesh, options);
        } catch (ValidationException e) {
            throw new ExitException(Main.FAILED, e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (repair) {
            ReportText.print(report, out);
            if (report.identical()) {
                return Main.OK;
            }
            Repair.Outcome done;
            try {
                done = new Repair(mesh, truth, dryRun, out).run(report);
            } catch (ValidationException e) {
                throw new ExitException(Main.FAILED, e.getMessage());
            }
            out.printf("%s %d key(s) as on %s: %d inserted, %d updated, %d deleted%n", dryRun ? "dry run: would repair"
                    : "repaired", done.total(), from, done.inserted(), done.updated(), done.deleted());
            if (dryRun) {
                out.flush();
                return exitCode(report);
            }
            out.println("validating again:");
            try {
                report = Validator.run(mesh, options);
            } catch (ValidationException e) {
                throw new ExitException(Main.FAILED, e.getMessage());
            }
        }
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
            out.flush();
        } else {
            ReportText.print(report, out);
        }
        return exitCode(report);
    }

    /** A key never judged is not a key found identical: that answer gets its own exit status. */
    static int exitCode(ValidationReport report) {
        return report.identical() ? Main.OK : report.unsettled() ? Main.UNSETTLED : Main.FAILED;
    }
}
