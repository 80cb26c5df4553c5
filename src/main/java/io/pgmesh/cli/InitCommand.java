package io.pgmesh.cli;

import io.pgmesh.check.Finding;
import io.pgmesh.check.FindingReport;
import io.pgmesh.check.Preflight;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.setup.Initializer;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgmesh init}: check, then create what run needs and load empty nodes from initial-load.from. */
@Command(name = "init", description = "Check the mesh, create what replication needs, and load empty nodes.")
final class InitCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--jobs", defaultValue = "4", description = "tables or table slices copied at once (default ${DEFAULT-VALUE})")
    int jobs;

    @Option(names = "--slice-mb", defaultValue = "64", description = "tables bigger than this are copied in slices"
            + " of this many MB by several workers; 0: every table in one piece (default ${DEFAULT-VALUE})")
    int sliceMb;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (jobs < 1 || jobs > 64) {
            throw new ExitException(Main.USAGE, "init: --jobs: expected 1..64, got " + jobs);
        }
        if (sliceMb < 0) {
            throw new ExitException(Main.USAGE, "init: --slice-mb: expected 0 or more, got " + sliceMb);
        }
        MeshConfig mesh = config.load();
        PrintWriter out = spec.commandLine().getOut();
        List<Finding> findings = Preflight.run(mesh);
        if (!findings.isEmpty()) {
            out.print(FindingReport.text(findings));
        }
        if (findings.stream().anyMatch(Finding::isError)) {
            out.println("init stopped before changing anything: fix the errors above (pgmesh check shows them again)");
            out.flush();
            return Main.FAILED;
        }
        boolean ok = new Initializer(mesh, jobs, sliceMb * 1048576L, out, System.console() != null).run();
        return ok ? Main.OK : Main.FAILED;
    }
}
