package io.pgmesh.metrics;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The metrics of every task a run process has run, by task name: kept across a reload
 * (SIGHUP), which builds new tasks, so that counters never go back.
 */
public final class TaskMetricsSet {
    private final Map<String, TaskMetrics> byTask = new ConcurrentHashMap<>();
    private final Duration heartbeatInterval;

    public TaskMetricsSet(Duration heartbeatInterval) {
        this.heartbeatInterval = heartbeatInterval;
    }

    public TaskMetrics of(String task) {
        return byTask.computeIfAbsent(task, t -> new TaskMetrics(t, heartbeatInterval));
    }
}
