package io.pgmesh.task;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.metrics.TableStats;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import io.pgmesh.topology.Names;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each task's state to its target node ({@code pgmesh.task_state}) whenever it changes,
 * so that {@code pgmesh status}, which reads the databases and not this process, shows a task
 * that failed or keeps retrying (why, since when, which process). The reporting connection stays
 * open, named after this process: status tells a process that is gone by its missing session, so
 * a healthy mesh writes nothing while it is idle. One thread per target node: a node that stops
 * answering holds up only its own reports, for at most the connection's bound.
 */
final class TaskReporter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");
    /** How often the states are compared with what was last written. */
    static final Duration INTERVAL = Duration.ofMillis(500);
    private static final Duration BOUND = Duration.ofSeconds(10);
    /**
     * Written only while no other process holds the task's lease: a standby's states (connecting
     * before it looks, stopped when it ends) must never replace the holder's.
     */
    private static final String UPSERT = """
            INSERT INTO pgmesh.task_state AS s (source_node, state, detail, since, process, reported_at, table_stats)
            SELECT ?::text, ?::text, ?::text, ?::timestamptz, ?::text, clock_timestamp(), ?::jsonb
             WHERE NOT EXISTS (SELECT FROM pgmesh.task_lease l WHERE l.source_node = ? AND l.holder_id <> ?::uuid
                                  AND %s)
            ON CONFLICT (source_node) DO UPDATE SET state = EXCLUDED.state, detail = EXCLUDED.detail,
                since = EXCLUDED.since, process = EXCLUDED.process, reported_at = EXCLUDED.reported_at,
                table_stats = EXCLUDED.table_stats""".formatted(TaskLease.LIVE);
    /** Table statistics change with every applied row: they are written at most this often. */
    private static final long STATS_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<NodeConfig, List<Task>> byTarget = new LinkedHashMap<>();
    private final Map<NodeConfig, Connection> conns = new java.util.concurrent.ConcurrentHashMap<>();
    /** What was last written to each node; a reconnect writes everything again. */
    private final Map<NodeConfig, List<String>> written = new java.util.concurrent.ConcurrentHashMap<>();
    private final String process = process();
    /** Each task's table statistics (JSON) as last taken, and when. */
    private final Map<Task, String> stats = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Task, Long> statsTaken = new java.util.concurrent.ConcurrentHashMap<>();
    private final ScheduledExecutorService pool;

    /** This process's lease holder id: a task held by another process is that one's to report. */
    private final java.util.UUID holder;

    TaskReporter(List<Task> tasks, java.util.UUID holder) {
        this.holder = holder;
        for (Task t : tasks) {
            byTarget.computeIfAbsent(t.spec().target(), n -> new ArrayList<>()).add(t);
        }
        pool = Executors.newScheduledThreadPool(Math.max(1, byTarget.size()), r -> {
            Thread th = new Thread(r, "pgmesh report");
            th.setDaemon(true);
            return th;
        });
    }

    void start() {
        for (NodeConfig node : byTarget.keySet()) {
            pool.scheduleWithFixedDelay(() -> report(node), 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Host and pid of this process, as status shows it. */
    static String process() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "localhost";
        }
        return host + ":" + ProcessHandle.current().pid();
    }

    private void report(NodeConfig node) {
        // A task in standby is another process's to report: its state there is the holder's (the
        // statement checks the lease too, for the moments before a task knows it stands by).
        List<Task> due = byTarget.get(node).stream().filter(t -> t.state() != TaskState.STANDBY).toList();
        if (due.isEmpty()) {
            return;
        }
        List<String> now = new ArrayList<>();
        for (Task t : due) {
            now.add(t.state().label() + "|" + t.detail() + "|" + t.since() + "|" + stats(t));
        }
        if (now.equals(written.get(node))) {
            return;
        }
        Connection conn = conns.get(node);
        try {
            if (conn == null) {
                conn = PgConnector.connect(node, Names.reportPurpose(process), BOUND);
                conns.put(node, conn);
            }
            try (PreparedStatement ps = conn.prepareStatement(UPSERT)) {
                for (Task t : due) {
                    ps.setString(1, t.spec().source().name());
                    ps.setString(2, t.state().label());
                    ps.setString(3, t.detail());
                    ps.setTimestamp(4, Timestamp.from(t.since()));
                    ps.setString(5, process);
                    ps.setString(6, stats.get(t));
                    ps.setString(7, t.spec().source().name());
                    ps.setObject(8, holder);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            written.put(node, now);
        } catch (SQLException | RuntimeException e) {
            if (!SqlStates.UNDEFINED_TABLE.equals(SqlStates.of(e))) {
                log.debug("node {}: the task states could not be written: {}", node.name(), Errors.describe(e));
            }
            Sql.closeQuietly(conn);
            conns.remove(node);
            written.remove(node);
        }
    }

    /** The task's table statistics as JSON, taken again once they are {@link #STATS_NANOS} old. */
    private String stats(Task t) {
        long now = System.nanoTime();
        Long taken = statsTaken.get(t);
        if (taken == null || now - taken >= STATS_NANOS) {
            try {
                stats.put(t, JSON.writeValueAsString(TableStats.of(t.metrics())));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            statsTaken.put(t, now);
        }
        return stats.get(t);
    }


    /** Writes the final states (stopped, failed), for 2.5 s at most, and ends. */
    @Override
    public void close() {
        pool.shutdown();
        try {
            pool.awaitTermination(500, TimeUnit.MILLISECONDS);
            List<Thread> last = new ArrayList<>();
            for (NodeConfig node : byTarget.keySet()) {
                Thread th = new Thread(() -> report(node), "pgmesh last report " + node.name());
                th.setDaemon(true);
                th.start();
                last.add(th);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            for (Thread th : last) {
                th.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        pool.shutdownNow();
        conns.values().forEach(Sql::closeQuietly);
    }

}
