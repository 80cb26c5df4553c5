package io.pgmesh.task;

import java.time.Duration;

/** Exponential backoff between task attempts: initial, doubled per failure, capped. */
public record RetryPolicy(Duration initial, Duration max) {

    public static RetryPolicy defaults() {
        return new RetryPolicy(Duration.ofSeconds(1), Duration.ofSeconds(30));
    }

    public Duration delay(int failuresInARow) {
        long ms = initial.toMillis() << Math.min(failuresInARow, 20);
        return Duration.ofMillis(Math.min(ms, max.toMillis()));
    }
}
