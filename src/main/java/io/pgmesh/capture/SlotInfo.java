package io.pgmesh.capture;

import io.pgmesh.pg.Lsn;

/**
 * A replication slot as the source reports it. {@code invalidation} is null for a usable slot,
 * otherwise the reason the server gave (or "wal_status lost"). {@code walStatus} and
 * {@code safeWalSize} are the server's (null where it has none: safe_wal_size is null while
 * max_slot_wal_keep_size is unbounded, which is when a slot can fill the disk).
 */
public record SlotInfo(String name, boolean active, Lsn confirmedFlushLsn, Lsn restartLsn,
                       long retainedBytes, String invalidation, String walStatus, Long safeWalSize) {

    public SlotInfo(String name, boolean active, Lsn confirmedFlushLsn, Lsn restartLsn, long retainedBytes,
                    String invalidation) {
        this(name, active, confirmedFlushLsn, restartLsn, retainedBytes, invalidation, null, null);
    }

    public boolean isInvalidated() {
        return invalidation != null;
    }
}
