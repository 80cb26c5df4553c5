package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.MeshFingerprint;
import io.pgmesh.task.FingerprintGuard;
import io.pgmesh.task.LeaseHolder;
import io.pgmesh.http.HttpEndpoint;
import io.pgmesh.http.RunMonitor;
import io.pgmesh.metrics.TaskMetricsSet;
import io.pgmesh.metrics.TaskView;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import picocli.CommandLine.Option;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import sun.misc.Signal;

/**
 * {@code pgmesh run}: every task of the mesh in this process, until SIGINT or SIGTERM. SIGHUP
 * reads the mesh file again: a node added (after its init) gets its tasks without a restart of
 * the process, and tasks that failed for good start again; a file that does not load is
 * reported and the tasks run on as they were.
 */
@Command(name = "run", description = "Replicate between all nodes of the mesh until stopped (SIGINT/SIGTERM);"
        + " SIGHUP reads the mesh file again.")
final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");

    @Mixin
    ConfigOption config;

    @Option(names = "--http", paramLabel = "HOST:PORT", description = "serve /metrics, /health, /api/status and the"
            + " dashboard there (overrides http.listen of the mesh file); keep it on loopback or a private network")
    String http;

    @Option(names = "--targets", split = ",", paramLabel = "NODE[,NODE...]", description = "run only the tasks that"
            + " apply to these nodes (place the process next to them: only the change streams cross the network)")
    List<String> targets;

    /** This process as the task leases name it; the same across reloads. */
    private LeaseHolder me;

    /** What wakes the main thread: a signal, or the end of every task of one runner. */
    private sealed interface Event permits Stop, Reload, Ended {
    }

    private record Stop() implements Event {
    }

    private record Reload() implements Event {
    }

    private record Ended(MeshRunner runner) implements Event {
    }

    @Override
    public Integer call() throws Exception {
        MeshConfig mesh = config.load();
        unknownTargets(mesh).ifPresent(unknown -> {
            throw new ExitException(Main.USAGE, "run: --targets: " + unknown);
        });
        if (http != null) {
            mesh = mesh.withMonitor(mesh.monitor().withHttpListen(http));
        }
        me = LeaseHolder.of(MeshFingerprint.of(mesh), targets != null);
        FingerprintGuard.conflict(mesh.nodes(), me).ifPresent(why -> {
            throw new ExitException(Main.USAGE, "run: " + why);
        });
        TaskMetricsSet metrics = new TaskMetricsSet(MeshRunner.HEARTBEAT_INTERVAL);
        AtomicReference<MeshRunner> current = new AtomicReference<>();
        try (RunMonitor monitor = monitor(mesh, () -> {
            MeshRunner r = current.get();
            return r == null ? List.of() : r.views();
        })) {
            return run(mesh, metrics, current, monitor);
        }
    }

    /** The HTTP side, when asked for; an address that cannot be listened on ends the command (exit 2). */
    private RunMonitor monitor(MeshConfig mesh, Supplier<List<TaskView>> tasks) {
        String listen = mesh.monitor().httpListen();
        try {
            return RunMonitor.start(listen, mesh, tasks, MeshRunner.process());
        } catch (HttpEndpoint.ListenException e) {
            throw new ExitException(Main.USAGE, (http != null ? "--http " : "http.listen ") + listen + ": "
                    + e.getMessage());
        }
    }

    private Integer run(MeshConfig first, TaskMetricsSet metrics, AtomicReference<MeshRunner> current,
                        RunMonitor monitor) throws InterruptedException {
        MeshConfig mesh = first;
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        // Handled signals rather than a shutdown hook: a clean stop then exits 0, not 130/143.
        Signal.handle(new Signal("INT"), s -> events.add(new Stop()));
        Signal.handle(new Signal("TERM"), s -> events.add(new Stop()));
        Signal.handle(new Signal("HUP"), s -> events.add(new Reload()));
        while (true) {
            me = me.withFingerprint(MeshFingerprint.of(mesh));
            try (MeshRunner runner = new MeshRunner(mesh, RetryPolicy.defaults(), metrics,
                    targets == null ? null : java.util.Set.copyOf(targets), me)) {
                current.set(runner);
                monitor.tasksStarted(mesh, runner.views());
                runner.start();
                watch(runner, events);
                MeshConfig next = null;
                while (next == null) {
                    Event e = events.take();
                    if (e instanceof Stop || e instanceof Ended ended && ended.runner() == runner) {
                        return runner.anyFailed() ? Main.FAILED : Main.OK;
                    }
                    if (e instanceof Reload) {
                        next = reloaded(mesh, runner.anyFailed());
                        if (next != null && !runner.anyFailed() && next.withMonitor(mesh.monitor()).equals(mesh)) {
                            mesh = settingsOnly(mesh, next, monitor);
                            next = null;
                        }
                    }
                }
                log.info("SIGHUP: restarting the tasks with the mesh file {} ({} node(s))", config.file,
                        next.nodes().size());
                mesh = next;
            }
        }
    }

    /**
     * The mesh file as it is now when it differs from {@code current}, or when a task failed for
     * good (after a resync, say, it can start again); null when there is nothing to restart or the
     * file is broken.
     */
    private MeshConfig reloaded(MeshConfig current, boolean failedTasks) {
        MeshConfig next;
        try {
            next = config.load();
            if (http != null) {
                next = next.withMonitor(next.monitor().withHttpListen(http));
            }
        } catch (ExitException e) {
            log.error("SIGHUP: the mesh file {} was not reloaded, the tasks run on as before: {}", config.file,
                    e.getMessage());
            return null;
        }
        java.util.Optional<String> unknown = unknownTargets(next);
        if (unknown.isPresent()) {
            log.error("SIGHUP: the mesh file {} was not reloaded, the tasks run on as before: --targets: {}",
                    config.file, unknown.get());
            return null;
        }
        java.util.Optional<String> foreign = FingerprintGuard.conflict(next.nodes(),
                me.withFingerprint(MeshFingerprint.of(next)));
        if (foreign.isPresent()) {
            log.error("SIGHUP: the mesh file {} was not reloaded, the tasks run on as before: {}", config.file,
                    foreign.get());
            return null;
        }
        if (next.equals(current) && !failedTasks) {
            log.info("SIGHUP: the mesh file {} is unchanged and no task failed; nothing to do", config.file);
            return null;
        }
        return next;
    }

    /** What is wrong with --targets for {@code mesh}: a name that is not one of its nodes. */
    private java.util.Optional<String> unknownTargets(MeshConfig mesh) {
        if (targets == null) {
            return java.util.Optional.empty();
        }
        List<String> names = mesh.nodes().stream().map(io.pgmesh.config.NodeConfig::name).toList();
        return targets.stream().filter(t -> !names.contains(t)).findFirst()
                .map(t -> "no node named \"" + t + "\" in " + config.file + " (nodes: " + String.join(", ", names) + ")");
    }

    /** Only http, health or slot-safety changed: the tasks run on, the new bounds apply from now. */
    private MeshConfig settingsOnly(MeshConfig current, MeshConfig next, RunMonitor monitor) {
        String listen = current.monitor().httpListen();
        MeshConfig applied = next.withMonitor(next.monitor().withHttpListen(listen));
        if (!java.util.Objects.equals(listen, next.monitor().httpListen())) {
            log.warn("SIGHUP: http.listen changed to {}; the listener moves only when run restarts",
                    next.monitor().httpListen());
        }
        monitor.settings(applied);
        log.info("SIGHUP: health and slot-safety settings of {} applied; the tasks run on", config.file);
        return applied;
    }

    private static void watch(MeshRunner runner, BlockingQueue<Event> events) {
        Thread watcher = new Thread(() -> {
            try {
                runner.awaitTermination();
            } catch (InterruptedException ignored) {
                return;
            }
            events.add(new Ended(runner));
        }, "pgmesh watcher");
        watcher.setDaemon(true);
        watcher.start();
    }
}
