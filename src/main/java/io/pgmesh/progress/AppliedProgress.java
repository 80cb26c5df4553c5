package io.pgmesh.progress;

import io.pgmesh.pg.Lsn;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * How far an apply session got: the end of the last transaction committed on the target, and
 * the part of that known to be on disk. Commits do not wait for the disk
 * ({@code synchronous_commit = off}), so only the durable position may be confirmed to the
 * source: a crash of the target would otherwise lose what the source no longer keeps.
 */
public final class AppliedProgress {
    private Lsn applied;
    private Lsn durable;

    public AppliedProgress(Lsn start) {
        this.applied = start;
        this.durable = start;
    }

    /** A transaction ending at {@code end} committed on the target. */
    public void committed(Lsn end) {
        applied = end;
    }

    public Lsn applied() {
        return applied;
    }

    /**
     * Asks the server which applied position is on disk (flushing it if needed). Never more than
     * was applied in this session: the origin may stand ahead after a rolled-back transaction.
     */
    public Lsn refreshDurable(Connection conn) throws SQLException {
        if (applied.equals(durable)) {
            return durable;
        }
        Lsn flushed = OriginSession.flushedProgress(conn);
        durable = Lsn.max(durable, Lsn.of(Math.min(flushed.value(), applied.value())));
        return durable;
    }
}
