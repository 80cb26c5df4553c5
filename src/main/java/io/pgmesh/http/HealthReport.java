package io.pgmesh.http;

import io.pgmesh.config.MonitorSettings;
import io.pgmesh.metrics.TaskView;
import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusPoller;
import io.pgmesh.pg.Sizes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What /health answers: every task streaming within {@code health.max-latency} is healthy (200);
 * any other task makes the process unhealthy (503), named with why. Slot, node and reading
 * troubles are warnings: they call for an operator, not for a restart of this process.
 */
public record HealthReport(String status, List<Failing> failing, List<String> warnings) {

    /** A task that is not healthy, and why, with the next step where there is one. */
    public record Failing(String task, String state, String why) {
    }

    public boolean ok() {
        return failing.isEmpty();
    }

    static HealthReport of(List<TaskView> tasks, StatusPoller.Reading reading, MonitorSettings settings,
                           Duration staleAfter) {
        List<Failing> failing = new ArrayList<>();
        double bound = settings.maxLatency().toMillis() / 1000.0;
        for (TaskView t : tasks) {
            if (t.standby()) {
                continue; // standing by is this process's job while another one applies the task
            }
            if (!t.streaming()) {
                failing.add(new Failing(t.name(), t.state(), t.state() + " since " + t.since() + ": " + t.detail()));
                continue;
            }
            double target = t.metrics().latency().targetSeconds();
            double source = t.metrics().latency().sourceSeconds();
            if (target > bound || source > bound) {
                failing.add(new Failing(t.name(), t.state(), String.format(
                        "latency %.1f s (source) and %.1f s (target) is over health.max-latency %.0f s: the target"
                                + " applies too slowly, or a node or connection is stuck; see pgmesh status", source,
                        target, bound)));
            }
        }
        if (tasks.isEmpty()) {
            failing.add(new Failing("-", "-", "no task runs in this process"));
        }
        return new HealthReport(failing.isEmpty() ? "ok" : "failing", failing, warnings(reading, staleAfter));
    }

    private static List<String> warnings(StatusPoller.Reading reading, Duration staleAfter) {
        List<String> warnings = new ArrayList<>();
        if (reading == null) {
            warnings.add("the nodes have not been read yet");
            return warnings;
        }
        Duration age = Duration.between(reading.at(), Instant.now());
        if (age.compareTo(staleAfter) > 0) {
            warnings.add("the nodes were last read " + age.toSeconds() + " s ago: reading them takes too long");
        }
        for (MeshStatus.NodeStatus n : reading.status().nodes()) {
            if (!n.reachable()) {
                warnings.add(n.error());
                continue;
            }
            for (MeshStatus.SlotStatus s : n.slots()) {
                if (s.invalidation() != null) {
                    warnings.add("slot " + s.slot() + " on " + n.node() + " is invalidated (" + s.invalidation()
                            + "): its target must be rebuilt with pgmesh resync");
                } else if (s.overBudget()) {
                    warnings.add("slot " + s.slot() + " on " + n.node() + " holds " + Sizes.human(s.retainedWalBytes())
                            + " of WAL, over slot-safety.warn-retained-wal: bring its target back, or remove it"
                            + " with pgmesh remove-node, before the disk fills");
                }
            }
        }
        return warnings;
    }
}
