package io.pgmesh.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The pgmesh command line. Exit codes: 0 success, 1 failure at run time, 2 usage or config error. */
@Command(name = "pgmesh", mixinStandardHelpOptions = true, version = "pgmesh 0.1.0",
        description = "Active-active replication for PostgreSQL.",
        subcommands = {CheckCommand.class, InitCommand.class, RunCommand.class, StatusCommand.class,
                ValidateCommand.class, ConflictsCommand.class, RetryCommand.class, DiscardCommand.class,
                TeardownCommand.class, IdsCommand.class, DemoCommand.class})
public final class Main {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ExitException exit) {
                if (exit.getMessage() != null) {
                    cmd.getErr().println(exit.getMessage());
                }
                return exit.code();
            }
            cmd.getErr().println("pgmesh: " + io.pgmesh.task.Errors.describe(e));
            return FAILED;
        });
        return cl.execute(args);
    }
}
