package io.pgmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TableSelection;
import io.pgmesh.metrics.TaskMetricsSet;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import io.pgmesh.task.Task;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** run --targets: exactly the tasks that apply to those nodes; a name the mesh lacks is a usage error. */
@Timeout(20)
class RunTargetsTest {
    private static final List<String> NODES = List.of("east", "west", "north");

    private static MeshConfig mesh() {
        return new MeshConfig(NODES.stream().map(n -> new NodeConfig(n, "127.0.0.1", 1, "app", "postgres", Secret.NONE,
                "disable")).toList(), TableSelection.defaults());
    }

    private static List<String> tasks(Set<String> targets) {
        try (MeshRunner runner = new MeshRunner(mesh(), RetryPolicy.defaults(), new TaskMetricsSet(MeshRunner.HEARTBEAT_INTERVAL),
                targets)) {
            return runner.tasks().stream().map(Task::spec).map(s -> s.name()).sorted().toList();
        }
    }

    @Test
    void aProcessNextToItsNodesRunsTheTasksThatApplyThere() {
        assertEquals(List.of("east->west", "north->west"), tasks(Set.of("west")));
        assertEquals(List.of("east->north", "east->west", "north->west", "west->north"), tasks(Set.of("west", "north")));
        assertEquals(6, tasks(null).size(), "without --targets every task");
    }

    @Test
    void aTargetNotInTheMeshExitsTwo(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mesh.yaml");
        StringBuilder y = new StringBuilder("nodes:\n");
        for (String n : NODES) {
            y.append("  - {name: ").append(n).append(", host: 127.0.0.1, port: 1, database: app, user: postgres}\n");
        }
        Files.writeString(file, y);
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.execute("run", "-c", file.toString(), "--targets", "west,south");
        } finally {
            System.setErr(oldErr);
        }
        assertEquals(Main.USAGE, code);
        String said = err.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("--targets: no node named \"south\"") && said.contains("nodes: east, west, north"), said);
    }
}
