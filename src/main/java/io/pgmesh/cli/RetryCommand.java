package io.pgmesh.cli;

import io.pgmesh.apply.Quarantine;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgmesh retry NODE:ID}: apply a quarantined change once its cause is fixed, without it echoing back. */
@Command(name = "retry", description = "Apply a quarantined change (see pgmesh conflicts) on its node, then remove it"
        + " from pgmesh.apply_errors. Stop pgmesh run first: it holds the replication origin the change is applied under.")
final class RetryCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NODE:ID", description = "the apply error, as pgmesh conflicts names it (e.g. west:17)")
    String id;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return QuarantinedChange.run(config, id, spec, "retry", Quarantine::retry);
    }
}
