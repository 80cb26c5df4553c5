package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.setup.NodeRemoval;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgmesh remove-node NODE}: take a node out of a running mesh once what it wrote is everywhere. */
@Command(name = "remove-node", description = "Take a node out of the mesh once every other node has applied what it"
        + " wrote; drop the slots and origins that served it. Rows stay.")
final class RemoveNodeCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NODE", description = "the node to remove, as the mesh file names it")
    String node;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "how long to wait for the other nodes to apply what NODE wrote (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--force", description = "remove NODE even when it cannot be reached (what it had not sent is lost)")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (timeoutSeconds < 1) {
            throw new ExitException(Main.USAGE, "remove-node: --timeout: expected 1 or more seconds, got " + timeoutSeconds);
        }
        MeshConfig mesh = config.load();
        NodeConfig leaving;
        try {
            leaving = mesh.node(node);
        } catch (IllegalArgumentException e) {
            throw new ExitException(Main.USAGE, "remove-node: " + e.getMessage());
        }
        boolean ok = new NodeRemoval(mesh, leaving, Duration.ofSeconds(timeoutSeconds), force,
                spec.commandLine().getOut()).run();
        return ok ? Main.OK : Main.FAILED;
    }
}
