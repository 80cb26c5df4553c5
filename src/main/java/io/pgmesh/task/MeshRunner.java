package io.pgmesh.task;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.MeshFingerprint;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.metrics.TaskMetricsSet;
import io.pgmesh.metrics.TaskView;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.topology.Topology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the tasks of a mesh in this process until stopped: every task, or those of the nodes given
 * by {@code --targets}. A task that another process holds waits in standby (see {@link TaskLease}).
 */
public final class MeshRunner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");

    private final List<Task> tasks = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final TaskReporter reporter;
    private final HeartbeatEmitter heartbeats;
    /** How often each node writes a heartbeat into its WAL. */
    public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(2);
    /** How long a stop waits for the tasks to end by themselves. */
    private static final Duration STOP_GRACE = Duration.ofSeconds(6);

    public MeshRunner(MeshConfig config, RetryPolicy retry) {
        this(config, retry, new TaskMetricsSet(HEARTBEAT_INTERVAL));
    }

    /** {@code metrics}: kept by the caller across runners, so that a reload keeps the counts. */
    public MeshRunner(MeshConfig config, RetryPolicy retry, TaskMetricsSet metrics) {
        this(config, retry, metrics, null);
    }

    /**
     * Runs only the tasks that apply to {@code targets} (node names), every task when null: a
     * process placed next to its node applies locally, and only the change streams cross the WAN.
     */
    public MeshRunner(MeshConfig config, RetryPolicy retry, TaskMetricsSet metrics, java.util.Set<String> targets) {
        this(config, retry, metrics, targets, LeaseHolder.of(MeshFingerprint.of(config), targets != null));
    }

    /**
     * {@code me}: this process as the task leases name it, kept by the caller across reloads so
     * that a restarted task takes its own lease back at once.
     */
    public MeshRunner(MeshConfig config, RetryPolicy retry, TaskMetricsSet metrics, java.util.Set<String> targets,
                      LeaseHolder me) {
        ConflictPolicy policy = new ConflictPolicy(config.conflicts());
        Map<String, NodePreparer> preparers = new HashMap<>();
        for (NodeConfig node : config.nodes()) {
            preparers.put(node.name(), new NodePreparer(node, config.tables(), config.replicateDdl(), config.conflicts()));
        }
        for (TaskSpec spec : Topology.mesh(config)) {
            if (targets != null && !targets.contains(spec.target().name())) {
                continue;
            }
            tasks.add(new Task(spec, config.nodes().size(), config.initialLoadSource().map(NodeConfig::name).orElse(null),
                    preparers.get(spec.source().name()),
                    preparers.get(spec.target().name()),
                    policy, retry, metrics.of(spec.name()), me));
        }
        reporter = new TaskReporter(tasks, me.id());
        heartbeats = new HeartbeatEmitter(config.nodes(), HEARTBEAT_INTERVAL, this::nodeBack);
    }

    /** A node answers again: its tasks that wait to retry try at once. */
    private void nodeBack(String node) {
        for (Task t : tasks) {
            if (t.spec().source().name().equals(node) || t.spec().target().name().equals(node)) {
                t.retryNow();
            }
        }
    }

    /** This process as status and the HTTP endpoints name it: host and pid. */
    public static String process() {
        return TaskReporter.process();
    }

    public List<Task> tasks() {
        return List.copyOf(tasks);
    }

    /** The tasks as metrics and the HTTP endpoints see them, now. */
    public List<TaskView> views() {
        List<TaskView> views = new ArrayList<>(tasks.size());
        for (Task t : tasks) {
            views.add(new TaskView(t.spec().name(), t.spec().source().name(), t.spec().target().name(),
                    t.state().label(), t.detail(), t.since(), t.metrics()));
        }
        return views;
    }

    public void start() {
        log.info("starting {} task(s)", tasks.size());
        for (Task t : tasks) {
            Thread th = new Thread(t, "apply " + t.spec());
            // Stopping must end the process even if a node that stopped answering holds a task's thread.
            th.setDaemon(true);
            th.start();
            threads.add(th);
        }
        reporter.start();
        heartbeats.start();
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

    /**
     * Stops every task and returns within about {@link #STOP_BOUND}: the tasks are asked to stop
     * all at once; those still running after the grace period (a statement on a node that stopped
     * answering, which neither a cancel nor an interrupt can end) have their connections dropped.
     * What they had not committed rolls back on the server with its progress: nothing is lost.
     */
    @Override
    public void close() {
        tasks.forEach(Task::stop);
        heartbeats.close();
        try {
            joinAll(STOP_GRACE);
            List<String> stuck = new ArrayList<>();
            for (int i = 0; i < tasks.size(); i++) {
                if (threads.size() > i && threads.get(i).isAlive()) {
                    stuck.add(tasks.get(i).spec().name());
                    tasks.get(i).abortConnections();
                }
            }
            if (!stuck.isEmpty()) {
                log.warn("task(s) {} did not stop within {} s (a node does not answer): their connections were"
                        + " dropped; what they had not committed is rolled back and comes again at the next start",
                        stuck, STOP_GRACE.toSeconds());
                joinAll(Duration.ofSeconds(2));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            reporter.close();
        }
    }

    private void joinAll(Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        for (Thread th : threads) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return;
            }
            th.join(left);
        }
    }
}
