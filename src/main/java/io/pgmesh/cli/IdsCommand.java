package io.pgmesh.cli;

import picocli.CommandLine.Command;

/** {@code pgmesh ids}: keys that two nodes never hand out twice. Only its subcommands run. */
@Command(name = "ids", description = "Keys that no two nodes hand out twice.",
        subcommands = {IdsPartitionCommand.class})
final class IdsCommand {
}
