package io.pgmesh.cli;

import io.pgmesh.setup.Teardown;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgmesh teardown}: remove slots, publication, origins and the pgmesh schema; user rows stay. */
@Command(name = "teardown", description = "Remove every pgmesh slot, publication, origin and the pgmesh schema from every node.")
final class TeardownCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--force", description = "also when pgmesh sessions are connected: end them first")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        boolean ok = new Teardown(config.load(), spec.commandLine().getOut()).run(force);
        return ok ? Main.OK : Main.FAILED;
    }
}
