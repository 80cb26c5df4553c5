package io.pgmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgmesh.check.Finding;
import io.pgmesh.check.FindingReport;
import io.pgmesh.check.Preflight;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code pgmesh check}: the preflight check. Exit 1 when any finding is an error. */
@Command(name = "check", description = "Check every node of the mesh for what init and run need; change nothing.")
final class CheckCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "print the findings as a JSON list")
    boolean json;

    @Option(names = "--max-clock-skew", paramLabel = "MS", defaultValue = "500",
            description = "warn when two nodes' clocks differ by more than this many milliseconds (default: ${DEFAULT-VALUE})")
    long maxClockSkewMs;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (maxClockSkewMs < 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--max-clock-skew must be 0 or more milliseconds, got " + maxClockSkewMs);
        }
        List<Finding> findings = Preflight.run(config.load(), Duration.ofMillis(maxClockSkewMs));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(findings));
        } else {
            out.print(FindingReport.text(findings));
        }
        out.flush();
        return findings.stream().anyMatch(Finding::isError) ? Main.FAILED : Main.OK;
    }
}
