package io.pgmesh.topology;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import java.util.ArrayList;
import java.util.List;

/** Turns the nodes of a mesh into its tasks. */
public final class Topology {
    private Topology() {
    }

    /** A full mesh: every node sends to every other node, N·(N−1) tasks. */
    public static List<TaskSpec> mesh(MeshConfig config) {
        List<TaskSpec> tasks = new ArrayList<>();
        for (NodeConfig source : config.nodes()) {
            for (NodeConfig target : config.nodes()) {
                if (!source.name().equals(target.name())) {
                    tasks.add(new TaskSpec(source, target));
                }
            }
        }
        return List.copyOf(tasks);
    }
}
