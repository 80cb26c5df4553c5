package io.pgmesh.apply;

import io.pgmesh.config.ConflictSettings.OnError;
import io.pgmesh.conflict.ApplyErrorLog;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.topology.TaskSpec;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one change of a careful (statement by statement) transaction under the task's on-error
 * setting. A change that cannot be applied ({@link SqlStates#isChangeError}, or an
 * {@link UnresolvableChangeException}) either stops the task ({@code stop}: its transaction rolls
 * back, the position stays before it) or is quarantined in {@code pgmesh.apply_errors} while the
 * rest of its transaction applies ({@code skip}). With {@code skip} every change runs inside a
 * savepoint, so that a failed one can be rolled back alone; with {@code stop} none is needed, and
 * the careful path takes no subtransactions. Other errors (connection loss, serialization
 * failures) go up unchanged: the task retries them.
 */
final class ChangeGuard {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.apply");
    private static final String SAVEPOINT = "pgmesh_change";

    @FunctionalInterface
    interface Change {
        void apply() throws SQLException;
    }

    private final TaskSpec task;
    private final Connection conn;
    private final OnError onError;
    private final ApplyErrorLog errors;
    private final IntFunction<Relation> relations;
    /** Per transaction, the attempts that met a table or column the target lacked. */
    private final java.util.Map<io.pgmesh.pg.Lsn, Integer> remapped;
    /**
     * How often such a transaction is tried again before it is unresolvable: in a mesh of three
     * nodes the schema change that creates what it needs may come by another node's stream, a
     * little later (five attempts span about 30 s of the task's backoff).
     */
    private static final int ATTEMPTS_FOR_A_MISSING_OBJECT = 5;

    ChangeGuard(TaskSpec task, Connection conn, OnError onError, ApplyErrorLog errors, IntFunction<Relation> relations,
                java.util.Map<io.pgmesh.pg.Lsn, Integer> remapped) {
        this.task = task;
        this.conn = conn;
        this.onError = onError;
        this.errors = errors;
        this.relations = relations;
        this.remapped = remapped;
    }

    void apply(RemoteTxn txn, WalMessage m, Change change) throws SQLException {
        boolean savepoint = onError == OnError.SKIP;
        if (savepoint) {
            Sql.exec(conn, "SAVEPOINT " + SAVEPOINT);
        }
        try {
            change.apply();
        } catch (UnresolvableChangeException e) {
            tryAgainIfMissing(txn, e.sqlState(), e.getMessage());
            unresolvable(txn, m, e.getMessage(), e.sqlState());
        } catch (SQLException e) {
            if (SqlStates.isTransient(e) || !SqlStates.isChangeError(e)) {
                throw e;
            }
            tryAgainIfMissing(txn, e.getSQLState(), Errors.describe(e));
            unresolvable(txn, m, Errors.describe(e), SqlStates.of(e));
        }
        if (savepoint) {
            Sql.exec(conn, "RELEASE SAVEPOINT " + SAVEPOINT);
        }
    }

    /**
     * A table or column the target lacks, or had when the task read its tables: the task's view
     * may be stale (dropped or renamed there since), or the schema change that creates it may
     * still be on its way by another node's stream. The task retries a few times, reading the
     * target's tables afresh, before the change counts as unresolvable.
     */
    private void tryAgainIfMissing(RemoteTxn txn, String sqlState, String reason) {
        if (!SqlStates.UNDEFINED_COLUMN.equals(sqlState) && !SqlStates.UNDEFINED_TABLE.equals(sqlState)) {
            return;
        }
        int attempt = remapped.merge(txn.finalLsn(), 1, Integer::sum);
        if (attempt < ATTEMPTS_FOR_A_MISSING_OBJECT) {
            throw new TargetChangedException(reason + " at the transaction committed on " + txn.sourceNode() + " at "
                    + txn.finalLsn() + "; the target's tables are read again at the next attempt (" + attempt + " of "
                    + ATTEMPTS_FOR_A_MISSING_OBJECT + ")");
        }
        remapped.remove(txn.finalLsn());
    }

    /** The target lacks what a change needs, maybe for a moment: the task retries (see tryAgainIfMissing). */
    static final class TargetChangedException extends RuntimeException {
        TargetChangedException(String message) {
            super(message);
        }
    }

    private void unresolvable(RemoteTxn txn, WalMessage m, String reason, String sqlState) throws SQLException {
        FailedChange failed = FailedChange.of(txn, m, relations);
        if (onError == OnError.STOP) {
            throw new ApplyStoppedException("cannot apply " + failed.describe() + ": " + reason + "; the task holds"
                    + " its position there (conflicts.on-error: stop): fix the cause, then start pgmesh run again");
        }
        Sql.exec(conn, "ROLLBACK TO SAVEPOINT " + SAVEPOINT);
        errors.record(failed.entry(reason, sqlState == null || sqlState.isEmpty() ? null : sqlState));
        log.warn("task {}: quarantined {} in pgmesh.apply_errors on {}: {}", task, failed.describe(),
                task.target().name(), reason);
    }
}
