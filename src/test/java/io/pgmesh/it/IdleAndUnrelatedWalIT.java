package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.Lsn;
import io.pgmesh.task.MeshRunner;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A mesh with nothing to do keeps its streams alive past wal_sender_timeout, and WAL that holds
 * nothing for the mesh (tables outside the selection) is confirmed at once, so the slot never
 * holds it back.
 */
@Timeout(120)
class IdleAndUnrelatedWalIT {
    /** Three times wal_sender_timeout. */
    private static final long IDLE_MILLIS = 6000;

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(PgCluster.defaultVersions(2), Map.of("wal_sender_timeout", "2s"));
        cluster.sqlAll("CREATE TABLE m_items (id int PRIMARY KEY, note text)");
        cluster.sqlAll("CREATE TABLE bulk (id bigint PRIMARY KEY, payload text)");
        cluster.sqlAll("CREATE SCHEMA side");
        cluster.sqlAll("CREATE TABLE side.events (id bigserial PRIMARY KEY, payload text)");
        runner = cluster.startMesh(new TableSelection(List.of("public.m_*"), List.of()));
    }

    @Test
    void streamsSurviveIdlingPastWalSenderTimeout() throws Exception {
        Map<String, String> walsenders = cluster.walsenderPids();
        assertTrue(walsenders.values().stream().allMatch(pid -> pid != null), "every slot must be read: " + walsenders);

        Thread.sleep(IDLE_MILLIS); // the point of this test: nothing happens for longer than wal_sender_timeout

        cluster.sql(0, "INSERT INTO m_items VALUES (1, 'after the idle time, on east')");
        cluster.sql(1, "INSERT INTO m_items VALUES (2, 'after the idle time, on west')");
        PgCluster.await(Duration.ofSeconds(5), "rows written after the idle time to arrive promptly",
                () -> cluster.countOrMinusOne(1, "SELECT count(*) FROM m_items") == 2
                        && cluster.countOrMinusOne(0, "SELECT count(*) FROM m_items") == 2);
        assertEquals(walsenders, cluster.walsenderPids(),
                "each slot must still be read by the same walsender: none may have timed out and reconnected");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "every task must still be streaming");
    }

    @Test
    void writesOutsideTheMeshDoNotMakeTheSlotHoldWal() throws Exception {
        assertEquals(List.of("public.m_items"), cluster.queryColumn(0,
                        "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = 'pgmesh'"),
                "only the selected table may be published");
        cluster.sql(0, "INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
        try (Connection c = cluster.connect(0);
             PreparedStatement ps = c.prepareStatement("INSERT INTO side.events (payload) VALUES (?)")) {
            for (int i = 0; i < 500; i++) {
                ps.setString(1, "event " + i);
                ps.executeUpdate();
            }
        }
        cluster.sql(0, "UPDATE bulk SET payload = 'x' WHERE id % 10 = 0");
        Lsn mark = cluster.currentLsn(0);
        String slot = "pgmesh_east_west";
        PgCluster.await(Duration.ofSeconds(10), "slot " + slot + " to confirm the unrelated WAL up to " + mark,
                () -> lsn(0, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'")
                        .compareTo(mark) >= 0);
        // What PostgreSQL keeps for the slot is decided by restart_lsn, which moves only at the
        // snapshots that the server logs now and then: log one each poll rather than wait for one.
        String logSnapshot = cluster.count(0, "SELECT current_setting('server_version_num')::int") >= 160000
                ? "SELECT pg_log_standby_snapshot()" : "CHECKPOINT";
        PgCluster.await(Duration.ofSeconds(20), "slot " + slot + " to release the WAL before " + mark, () -> {
            if (lsn(0, "SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'").compareTo(mark) >= 0) {
                return true;
            }
            try {
                cluster.sql(0, logSnapshot);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return false;
        });
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM bulk"), "the unselected table must not replicate");
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM side.events"), "the other schema must not replicate");
    }

    private static Lsn lsn(int node, String sql) {
        try {
            return cluster.lsn(node, sql);
        } catch (SQLException e) {
            return Lsn.ZERO;
        }
    }
}
