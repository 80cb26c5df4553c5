package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.ids.PartitionException;
import io.pgmesh.ids.SequencePartitioner;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pgmesh ids partition}: every node gets its own slice of each sequence behind a replicated column. */
@Command(name = "partition", description = {
        "Give each node its own slice of every sequence that feeds a column of a replicated table:",
        "the node in slot k (its position in the mesh file, from 1) of N slots takes the values that are k mod N,",
        "stepping by N, above every value in use on any node. Sequences already partitioned are left alone."})
final class IdsPartitionCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--dry-run", description = "print the statements per node; change nothing")
    boolean dryRun;

    @Option(names = "--slots", paramLabel = "N",
            description = "slots N, at least the number of nodes (default: the number of nodes, at least 8)")
    Integer slots;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        MeshConfig mesh = config.load();
        int n = slots == null ? SequencePartitioner.defaultSlots(mesh.nodes().size()) : slots;
        if (n < mesh.nodes().size() || n > SequencePartitioner.MAX_SLOTS) {
            throw new ExitException(Main.USAGE, "ids partition: --slots: expected " + mesh.nodes().size() + ".."
                    + SequencePartitioner.MAX_SLOTS + " (at least one slot per node), got " + n);
        }
        PrintWriter out = spec.commandLine().getOut();
        try {
            new SequencePartitioner(mesh, n, out).run(dryRun);
            return Main.OK;
        } catch (PartitionException e) {
            throw new ExitException(Main.FAILED, "ids partition: " + e.getMessage());
        } finally {
            out.flush();
        }
    }
}
