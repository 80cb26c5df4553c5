package io.pgmesh.cli;

import io.pgmesh.config.ConfigException;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.MeshConfigLoader;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code -c FILE} option every mesh command takes; a broken file ends the command with exit 2. */
final class ConfigOption {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "the mesh file")
    Path file;

    MeshConfig load() {
        try {
            return MeshConfigLoader.load(file);
        } catch (ConfigException e) {
            throw new ExitException(Main.USAGE, e.getMessage());
        }
    }
}
