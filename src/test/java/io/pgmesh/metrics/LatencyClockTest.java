package io.pgmesh.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LatencyClockTest {
    private final AtomicLong now = new AtomicLong(LatencyClock.micros(Instant.parse("2026-12-02T10:00:00Z")));
    private final LatencyClock clock = new LatencyClock(Duration.ofSeconds(3), now::get);

    private Instant ago(double seconds) {
        return Instant.ofEpochSecond(0, (now.get() - (long) (seconds * 1e6)) * 1000);
    }

    private void pass(double seconds) {
        now.addAndGet((long) (seconds * 1e6));
    }

    @Test
    void nothingMeasuredIsNotANumberNotZero() {
        assertTrue(Double.isNaN(clock.sourceSeconds()));
        assertTrue(Double.isNaN(clock.targetSeconds()));
    }

    @Test
    void aFreshMeasurementIsWhatItMeasured() {
        clock.received(ago(0.2));
        clock.applied(ago(0.5));
        assertEquals(0.2, clock.sourceSeconds(), 1e-6);
        assertEquals(0.5, clock.targetSeconds(), 1e-6);
    }

    @Test
    void heartbeatsEveryTwoSecondsKeepAnIdleTaskAtItsMeasuredLatency() {
        for (int i = 0; i < 10; i++) {
            clock.received(ago(0.004));
            clock.applied(ago(0.006));
            pass(2);
            assertEquals(0.004, clock.sourceSeconds(), 1e-6, "2 s after the last heartbeat is within the slack");
            assertEquals(0.006, clock.targetSeconds(), 1e-6);
        }
    }

    @Test
    void aStuckTaskShowsTheAgeOfWhatItLastSawLessTheHeartbeatSlack() {
        clock.received(ago(0.004));
        clock.applied(ago(0.006));
        pass(25); // nothing arrives, nothing is applied
        assertEquals(22.004, clock.sourceSeconds(), 1e-3, "25 s since the source's last word, less 3 s of slack");
        assertEquals(22.006, clock.targetSeconds(), 1e-3);
        clock.received(ago(0.01)); // the source speaks again: the target is still stuck
        assertEquals(0.01, clock.sourceSeconds(), 1e-6);
        assertEquals(22.006, clock.targetSeconds(), 1e-3);
    }
}
