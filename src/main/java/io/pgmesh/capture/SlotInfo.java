package io.pgmesh.capture;

import io.pgmesh.pg.Lsn;

/**
 * A replication slot as the source reports it. {@code invalidation} is null for a usable slot,
 * otherwise the reason the server gave (or "wal_status lost").
 */
public record SlotInfo(String name, boolean active, Lsn confirmedFlushLsn, Lsn restartLsn,
                       long retainedBytes, String invalidation) {

    public boolean isInvalidated() {
        return invalidation != null;
    }
}
