package io.pgmesh.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The pgmesh command line. Exit codes: 0 success, 1 failure at run time, 2 usage or config error. */
@Command(name = "pgmesh", mixinStandardHelpOptions = true, version = "pgmesh 0.1.0",
        description = "Active-active replication for PostgreSQL.")
public final class Main {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;
    /** validate: nothing differs, but some keys could not be judged. */
    public static final int UNSETTLED = 3;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Read before picocli parses (see execute): declared so that every command accepts it and lists it. */
    @Option(names = LogFormat.OPTION, paramLabel = "text|json", scope = ScopeType.INHERIT,
            description = "log lines as text (default) or as one JSON object per line")
    String logFormat;

    public static int execute(String... args) {
        String format = LogFormat.requested(java.util.Arrays.asList(args));
        if (format == null) {
            System.err.println(LogFormat.OPTION + ": expected text or json");
            return USAGE;
        }
        if (format.equals("json")) {
            LogFormat.useJson();
        }
        CommandLine cl = new CommandLine(new Main());
        // picocli builds the model of every command it is given, by reflection, before parsing; a
        // command line that names its subcommand gets only that one (20-40 ms of every start).
        Map<String, Class<?>> all = subcommands();
        Class<?> named = args.length > 0 ? all.get(args[0]) : null;
        if (named != null) {
            cl.addSubcommand(args[0], named);
        } else {
            all.forEach(cl::addSubcommand);
        }
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ExitException exit) {
                if (exit.getMessage() != null) {
                    cmd.getErr().println(exit.getMessage());
                }
                return exit.code();
            }
            cmd.getErr().println("pgmesh: " + io.pgmesh.pg.Errors.describe(e));
            return FAILED;
        });
        return cl.execute(args);
    }

    /** Every subcommand, in the order the help lists them. */
    private static Map<String, Class<?>> subcommands() {
        Map<String, Class<?>> all = new LinkedHashMap<>();
        all.put("check", CheckCommand.class);
        all.put("init", InitCommand.class);
        all.put("run", RunCommand.class);
        all.put("status", StatusCommand.class);
        all.put("validate", ValidateCommand.class);
        all.put("conflicts", ConflictsCommand.class);
        all.put("retry", RetryCommand.class);
        all.put("discard", DiscardCommand.class);
        all.put("ddl", DdlCommand.class);
        all.put("remove-node", RemoveNodeCommand.class);
        all.put("resync", ResyncCommand.class);
        all.put("teardown", TeardownCommand.class);
        all.put("ids", IdsCommand.class);
        all.put("demo", DemoCommand.class);
        return all;
    }
}
