package io.pgmesh.task;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs every task of a mesh in this process until stopped. */
public final class MeshRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");

    private final List<Task> tasks = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    public MeshRunner(MeshConfig config, RetryPolicy retry) {
        ConflictPolicy policy = new ConflictPolicy(config.conflicts());
        Map<String, NodePreparer> preparers = new HashMap<>();
        for (NodeConfig node : config.nodes()) {
            preparers.put(node.name(), new NodePreparer(node, config.tables()));
        }
        for (TaskSpec spec : Topology.mesh(config)) {
            tasks.add(new Task(spec, preparers.get(spec.source().name()), preparers.get(spec.target().name()),
                    policy, retry));
        }
    }

    public List<Task> tasks() {
        return List.copyOf(tasks);
    }

    public void start() {
        log.info("starting {} task(s)", tasks.size());
        for (Task t : tasks) {
            Thread th = new Thread(t, "apply " + t.spec());
            th.start();
            threads.add(th);
        }
    }

    /** Blocks until every task has ended (stopped, or failed for good). */
    public void awaitTermination() throws InterruptedException {
        for (Thread th : threads) {
            th.join();
        }
    }

    public boolean anyFailed() {
        return tasks.stream().anyMatch(t -> t.state() == TaskState.FAILED);
    }

    @Override
    public void close() {
        tasks.forEach(Task::stop);
        for (Thread th : threads) {
            try {
                th.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
