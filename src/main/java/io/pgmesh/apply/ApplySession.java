package io.pgmesh.apply;

import io.pgmesh.causal.Seen;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import io.pgmesh.progress.OriginSession;
import io.pgmesh.progress.TaskProgress;
import io.pgmesh.topology.TaskSpec;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * A target session set up to apply one task: the settings every apply statement relies on, the
 * task's replication origin taken, and where the task resumes.
 *
 * @param resumeAt end of the last source transaction applied, on disk: streaming starts here
 * @param originId the origin's id, which the same-origin guard compares rows' origins with
 * @param loadedThrough when the initial load from this task's source finished, null if it never ran
 * @param seen what the source had seen as of the last transaction applied from it
 */
record ApplySession(Lsn resumeAt, int originId, String loadedThrough, Seen seen) {

    /**
     * Fails with SQLSTATE 55006 when another process holds the origin: PostgreSQL itself is the
     * lease between two pgmesh processes.
     */
    static ApplySession open(Connection conn, TaskSpec task, StreamStart start) throws SQLException {
        conn.setAutoCommit(true);
        Sql.exec(conn, "SET session_replication_role = replica");
        // Commits need not wait for the disk: only LSNs that the origin reports flushed are confirmed.
        Sql.exec(conn, "SET synchronous_commit = off");
        // Every statement of the apply looks a row up by its key, as PostgreSQL's own apply worker
        // does through the replica identity index. The planner would pick a sequential scan for
        // a small table, which costs more with every dead version a busy small table collects.
        Sql.exec(conn, "SET enable_seqscan = off");
        // The prepared shapes are the same statements over and over: planning each anew for the
        // first executions (and whenever a custom plan looks cheaper) is wasted work.
        Sql.exec(conn, "SET plan_cache_mode = force_generic_plan");
        // With sequential scans priced out, a statement that must scan (a table with REPLICA
        // IDENTITY FULL and no index) looks costly enough to be JIT-compiled at every execution.
        Sql.exec(conn, "SET jit = off");
        // The lineage trigger of first-update-wins tables leaves this session's writes to it: the
        // apply writes the lineage that came with each change ({@link Applier}).
        Sql.exec(conn, "SET pgmesh.lineage = 'apply'");
        Sql.exec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + SqlRenderer.SINK + " ()");
        SourceKnowledge.create(conn);
        TaskProgress.prepare(conn, task.source().name(), task.originName());
        String loadedThrough = Sql.queryString(conn, "SELECT finished_at::text FROM pgmesh.initial_load"
                + " WHERE source_node = ? AND state = 'done'", task.source().name()).orElse(null);
        Lsn resumeAt = OriginSession.take(conn, task.originName(), task.source().name(), () -> { });
        int originId = Sql.queryInt(conn, "SELECT pg_replication_origin_oid(?)", task.originName());
        return new ApplySession(resumeAt, originId, loadedThrough, seen(conn, task, start));
    }

    /** What the source had seen: as last recorded, and at least every version from before {@link StreamStart}. */
    private static Seen seen(Connection conn, TaskSpec task, StreamStart start) throws SQLException {
        Seen recorded = TaskProgress.lastSeen(conn, task.source().name());
        return start.lookUp(conn).map(t -> recorded.with(task.target().name(), t)).orElse(recorded);
    }
}
