package io.pgmesh.metrics;

import java.time.Instant;

/** A running task as the metrics and the HTTP endpoints see it: who, its state now, and its counters. */
public record TaskView(String name, String source, String target, String state, String detail, Instant since,
                       TaskMetrics metrics) {

    public boolean streaming() {
        return "streaming".equals(state);
    }

    /** Another process holds the task's lease; this one takes over when that one goes. */
    public boolean standby() {
        return "standby".equals(state);
    }
}
