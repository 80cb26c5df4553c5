package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.setup.Resync;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgmesh resync NODE --from SOURCE}: rebuild a node that can no longer follow, while the others run. */
@Command(name = "resync", description = "Bring NODE's replicated tables to SOURCE's snapshot (repairing the differing"
        + " keys, or reloading) while the other nodes keep running; NODE's differing rows are kept in"
        + " pgmesh.resync_saved.")
final class ResyncCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NODE", description = "the node to rebuild")
    String node;

    @Option(names = "--from", required = true, paramLabel = "SOURCE", description = "the node whose rows NODE gets")
    String from;

    @Option(names = "--force", description = "also when NODE holds keys no other node has (they are kept, then replaced)")
    boolean force;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS", description = "how long to wait for"
            + " the other nodes to apply what NODE wrote before its slots go (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--mode", defaultValue = "auto", paramLabel = "auto|repair|reload", description = "repair writes"
            + " only the keys that differ from SOURCE's snapshot; reload empties NODE's tables and copies every row;"
            + " auto repairs when at most half of the rows differ (default ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--jobs", defaultValue = "4", description = "tables or table slices copied at once (default ${DEFAULT-VALUE})")
    int jobs;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (jobs < 1 || jobs > 64) {
            throw new ExitException(Main.USAGE, "resync: --jobs: expected 1..64, got " + jobs);
        }
        Resync.Mode chosen = switch (mode) {
            case "auto" -> Resync.Mode.AUTO;
            case "repair" -> Resync.Mode.REPAIR;
            case "reload" -> Resync.Mode.RELOAD;
            default -> throw new ExitException(Main.USAGE, "resync: --mode: expected auto, repair or reload, got " + mode);
        };
        MeshConfig mesh = config.load();
        NodeConfig target;
        NodeConfig source;
        try {
            target = mesh.node(node);
            source = mesh.node(from);
        } catch (IllegalArgumentException e) {
            throw new ExitException(Main.USAGE, "resync: " + e.getMessage());
        }
        if (target.equals(source)) {
            throw new ExitException(Main.USAGE, "resync: NODE and --from name the same node, " + node);
        }
        if (timeoutSeconds < 1) {
            throw new ExitException(Main.USAGE, "resync: --timeout: expected 1 or more seconds, got " + timeoutSeconds);
        }
        boolean ok = new Resync(mesh, target, source, force, jobs, java.time.Duration.ofSeconds(timeoutSeconds),
                chosen, spec.commandLine().getOut()).run();
        return ok ? Main.OK : Main.FAILED;
    }
}
