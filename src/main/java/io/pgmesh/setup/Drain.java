package io.pgmesh.setup;

import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Waits until the other nodes have applied everything a node had written: each of its slots
 * toward them confirmed past its WAL position when the wait began. A slot that is missing or
 * invalidated can send nothing more, so it is not waited for.
 */
final class Drain {
    private Drain() {
    }

    /** The tasks still behind when {@code timeout} ran out, as "a->b (n bytes behind)"; empty when drained. */
    static List<String> await(Connection node, String nodeName, List<String> others, Duration timeout)
            throws SQLException, InterruptedException {
        Lsn mark = Lsn.parse(Sql.queryString(node, "SELECT pg_current_wal_lsn()::text").orElseThrow());
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> behind = new ArrayList<>();
            for (String other : others) {
                Lsn confirmed = Sql.queryString(node, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots"
                        + " WHERE slot_name = ? AND (wal_status IS NULL OR wal_status <> 'lost')",
                        Names.slot(nodeName, other)).map(Lsn::parse).orElse(null);
                if (confirmed != null && confirmed.compareTo(mark) < 0) {
                    behind.add(nodeName + "->" + other + " (" + mark.minus(confirmed) + " bytes behind)");
                }
            }
            if (behind.isEmpty() || System.nanoTime() > deadline) {
                return behind;
            }
            Thread.sleep(200);
        }
    }
}
