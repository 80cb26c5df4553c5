package io.pgmesh.cli;

import io.pgmesh.ddl.MeshDdl;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgmesh ddl}: a schema change on every node at once; exit 0 applied everywhere, 1 not applied. */
@Command(name = "ddl", description = "Run a schema change on every node at once: mesh-wide lock, wait until every"
        + " node has the others' earlier changes, then all nodes commit or none does.")
final class DdlCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Parameters(arity = "0..1", paramLabel = "SQL", description = "the statement(s), as one string")
    String sql;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "read the statement(s) from FILE")
    Path file;

    @Option(names = "--catch-up-timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "how long to wait for the nodes to have each other's earlier changes (default ${DEFAULT-VALUE})")
    int catchUpTimeout;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if ((sql == null) == (file == null)) {
            throw new ExitException(Main.USAGE, "ddl: give the change either as SQL or with -f FILE, not both or neither");
        }
        if (catchUpTimeout < 1) {
            throw new ExitException(Main.USAGE, "ddl: --catch-up-timeout: expected 1 or more seconds, got " + catchUpTimeout);
        }
        String text = sql;
        if (file != null) {
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ExitException(Main.USAGE, "ddl: cannot read " + file + ": " + e.getMessage());
            }
        }
        if (text.isBlank()) {
            throw new ExitException(Main.USAGE, "ddl: the change is empty");
        }
        java.util.Optional<String> refused = MeshDdl.refusal(text);
        if (refused.isPresent()) {
            throw new ExitException(Main.USAGE, "ddl: " + refused.get());
        }
        try {
            new MeshDdl(config.load(), Duration.ofSeconds(catchUpTimeout), spec.commandLine().getOut()).run(text);
        } catch (MeshDdl.DdlException e) {
            throw new ExitException(Main.FAILED, "ddl: " + e.getMessage());
        }
        return 0;
    }
}
