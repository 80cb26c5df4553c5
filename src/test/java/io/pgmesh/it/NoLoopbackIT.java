package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Once writes stop and replication has caught up, nothing more happens anywhere: no change
 * echoes back to the node it came from, and pgmesh itself writes nothing to either node's WAL.
 */
@Timeout(90)
class NoLoopbackIT {
    /** How long the mesh must stay still; long enough for an echo to go round hundreds of times. */
    private static final long QUIET_MILLIS = 3000;
    /** A little more than the interval at which run reports table statistics (TaskReporter). */
    private static final long STATS_SETTLE_MILLIS = 6000;

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        // autovacuum off: it would write WAL of its own in the quiet window and blur what pgmesh writes
        cluster = PgCluster.start(PgCluster.defaultVersions(2), Map.of("autovacuum", "off"));
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, written_on text, qty int)");
        cluster.sqlAll("CREATE EXTENSION pg_walinspect");
        runner = cluster.startMesh();
    }

    @Test
    void afterCatchUpNothingMoreIsAppliedOrWrittenAnywhere() throws Exception {
        cluster.sql(0, "INSERT INTO items SELECT g, 'east', g FROM generate_series(1, 200) g");
        cluster.sql(1, "INSERT INTO items SELECT g, 'west', g FROM generate_series(1001, 1200) g");
        cluster.sql(0, "UPDATE items SET qty = qty + 1 WHERE id BETWEEN 1 AND 20");
        cluster.sql(1, "UPDATE items SET qty = qty + 1 WHERE id BETWEEN 1001 AND 1020");
        cluster.sql(1, "DELETE FROM items WHERE id BETWEEN 1191 AND 1200");
        for (int i = 0; i < 50; i++) {
            cluster.sql(i % 2, "INSERT INTO items VALUES (" + (5000 + i) + ", 'small txn', " + i + ")");
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(440, cluster.count(0, "SELECT count(*) FROM items"),
                "east must hold 200 + 200 - 10 + 50 rows once replication has caught up");
        assertEquals(cluster.dump(0, "items", "id"), cluster.dump(1, "items", "id"),
                "both nodes must hold the same rows before the quiet window starts");

        // The run process reports each task's table statistics into pgmesh.task_state at most every
        // few seconds: the last report of the writes above may come after the catch-up. The quiet
        // window starts once it is in.
        Thread.sleep(STATS_SETTLE_MILLIS);
        State before = State.of(cluster, runner);
        Thread.sleep(QUIET_MILLIS); // the point of this test: nothing may happen in this time
        State after = State.of(cluster, runner);

        assertEquals(before.originProgress, after.originProgress,
                "origin progress moved after catch-up: some task applied a transaction that must have echoed");
        assertEquals(before.appliedTxns, after.appliedTxns,
                "a task applied transactions after catch-up although no node was written to");
        assertEquals(before.rowCounts, after.rowCounts, "row counts changed while no application wrote");
        for (int n = 0; n < cluster.size(); n++) {
            // Insert positions, not flush positions: pgmesh commits asynchronously, so a transaction applied
            // before the window may reach the disk inside it without having been written in it.
            List<String> records = writesBetween(n, before.walInsert.get(n), after.walInsert.get(n));
            assertTrue(records.isEmpty(), "node " + cluster.name(n) + " wrote rows or committed transactions in WAL"
                    + " while no application was writing (pgmesh loops or writes by itself): " + records);
            long grown = after.walInsert.get(n).value() - before.walInsert.get(n).value();
            assertTrue(grown < 4096, "node " + cluster.name(n) + "'s WAL grew by " + grown
                    + " bytes in " + QUIET_MILLIS + " ms of quiet; at most a background snapshot record is expected");
        }
    }

    /**
     * Heap changes, and the commits of transactions that made one, in [from, to) of a node's WAL,
     * described for a failure message. A heartbeat is a logical message; before PostgreSQL 17 it
     * comes with the commit of a transaction that changes nothing (its xid makes the commit flush
     * the message): neither is a write.
     */
    private static List<String> writesBetween(int node, Lsn from, Lsn to) throws Exception {
        if (to.compareTo(from) <= 0) {
            return List.of();
        }
        String records = "pg_get_wal_records_info('" + from + "', '" + to + "')";
        return cluster.queryColumn(node, "SELECT start_lsn || ' ' || resource_manager || '/' || record_type"
                + " || ' xid ' || xid || ': ' || coalesce(description, '')"
                + " FROM " + records + " r WHERE resource_manager = 'Heap'"
                + " OR (resource_manager = 'Transaction' AND EXISTS (SELECT FROM " + records + " h"
                + " WHERE h.xid = r.xid AND h.resource_manager = 'Heap')) ORDER BY start_lsn");
    }

    /** What must stay still across the quiet window. */
    private record State(Map<String, Lsn> originProgress, Map<String, Long> appliedTxns, List<Long> rowCounts,
                         List<Lsn> walFlush, List<Lsn> walInsert) {

        static State of(PgCluster cluster, MeshRunner runner) throws Exception {
            Map<String, Lsn> progress = new LinkedHashMap<>();
            List<Long> counts = new ArrayList<>();
            List<Lsn> flush = new ArrayList<>();
            List<Lsn> insert = new ArrayList<>();
            for (int t = 0; t < cluster.size(); t++) {
                for (int s = 0; s < cluster.size(); s++) {
                    if (s != t) {
                        progress.put(cluster.name(s) + "->" + cluster.name(t), cluster.originProgress(s, t));
                    }
                }
                counts.add(cluster.count(t, "SELECT count(*) FROM items"));
                flush.add(cluster.lsn(t, "SELECT pg_current_wal_flush_lsn()"));
                insert.add(cluster.lsn(t, "SELECT pg_current_wal_insert_lsn()"));
            }
            Map<String, Long> applied = new LinkedHashMap<>();
            for (Task task : runner.tasks()) {
                applied.put(task.spec().name(), task.metrics().appliedTransactions());
            }
            return new State(progress, applied, counts, flush, insert);
        }
    }
}
