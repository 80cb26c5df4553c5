package io.pgmesh.cli;

import io.pgmesh.apply.Quarantine;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgmesh discard NODE:ID}: drop a quarantined change for good. */
@Command(name = "discard", description = "Drop a quarantined change (see pgmesh conflicts) from pgmesh.apply_errors"
        + " without applying it.")
final class DiscardCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(paramLabel = "NODE:ID", description = "the apply error, as pgmesh conflicts names it (e.g. west:17)")
    String id;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return QuarantinedChange.run(config, id, spec, "discard", Quarantine::discard);
    }
}
