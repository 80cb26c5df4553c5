package io.pgmesh.capture;

import java.time.Instant;

/** What capture tells its task's metrics as the stream delivers; called on the capture thread. */
public interface ReceiveEvents {
    /** Row changes (inserts, updates, deletes, truncates) received, echoes excluded. */
    void changes(int n);

    /** A commit or heartbeat made on the source at {@code t} arrived. */
    void sourceTime(Instant t);

    ReceiveEvents NONE = new ReceiveEvents() {
        @Override
        public void changes(int n) {
        }

        @Override
        public void sourceTime(Instant t) {
        }
    };
}
