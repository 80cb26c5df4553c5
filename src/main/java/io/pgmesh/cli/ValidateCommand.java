package io.pgmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
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

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (catchUpTimeout < 0) {
            throw new ExitException(Main.USAGE, "validate: --catch-up-timeout: expected 0 or more seconds, got " + catchUpTimeout);
        }
        var mesh = config.load();
        ValidationReport report;
        try {
            report = Validator.run(mesh, ValidateOptions.defaults().withCatchUpTimeout(Duration.ofSeconds(catchUpTimeout)));
        } catch (ValidationException e) {
            throw new ExitException(Main.FAILED, e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
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
