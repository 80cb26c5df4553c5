package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import sun.misc.Signal;

/** {@code pgmesh run}: every task of the mesh in this process, until SIGINT or SIGTERM. */
@Command(name = "run", description = "Replicate between all nodes of the mesh until stopped (SIGINT/SIGTERM).")
final class RunCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Override
    public Integer call() throws Exception {
        MeshConfig mesh = config.load();
        CountDownLatch stop = new CountDownLatch(1);
        // Handled signals rather than a shutdown hook: a clean stop then exits 0, not 130/143.
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        try (MeshRunner runner = new MeshRunner(mesh, RetryPolicy.defaults())) {
            runner.start();
            Thread watcher = new Thread(() -> {
                try {
                    runner.awaitTermination();
                } catch (InterruptedException ignored) {
                    return;
                }
                stop.countDown();
            }, "pgmesh watcher");
            watcher.setDaemon(true);
            watcher.start();
            stop.await();
            boolean failed = runner.anyFailed();
            return failed ? Main.FAILED : Main.OK;
        }
    }
}
