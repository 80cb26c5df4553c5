package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.task.MeshRunner;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three nodes, six tasks in one runner: a change made on any node reaches both others exactly
 * once. A node never forwards what it applied, so nothing arrives twice by way of the third node.
 */
@Timeout(120)
class ThreeNodeMeshIT {
    private static final int ROWS_PER_NODE = 50;

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(3);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, written_on text, qty int)");
        // No key: a row that arrived twice would be there twice.
        cluster.sqlAll("CREATE TABLE events (written_on text, seq int, payload text)");
        cluster.sqlAll("ALTER TABLE events REPLICA IDENTITY FULL");
        runner = cluster.startMesh();
    }

    @Test
    void aWriteOnAnyNodeReachesBothOthersExactlyOnce() throws Exception {
        assertEquals(6, runner.tasks().size(), "a mesh of three nodes has six tasks");
        for (int n = 0; n < 3; n++) {
            int base = n * 1000;
            cluster.sql(n, "INSERT INTO items SELECT " + base + " + g, '" + cluster.name(n) + "', g"
                    + " FROM generate_series(1, " + ROWS_PER_NODE + ") g");
            cluster.sql(n, "INSERT INTO events SELECT '" + cluster.name(n) + "', g, 'event ' || g"
                    + " FROM generate_series(1, " + ROWS_PER_NODE + ") g");
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        for (int n = 0; n < 3; n++) {
            assertEquals(3 * ROWS_PER_NODE, cluster.count(n, "SELECT count(*) FROM events"),
                    cluster.name(n) + " must hold every node's events exactly once (more means one arrived twice)");
            assertEquals(3L * ROWS_PER_NODE, cluster.count(n, "SELECT count(DISTINCT (written_on, seq)) FROM events"),
                    cluster.name(n) + " must hold every node's events, none missing");
            assertEquals(3 * ROWS_PER_NODE, cluster.count(n, "SELECT count(*) FROM items"),
                    cluster.name(n) + " must hold every node's items");
        }

        // Each node changes one row that another node wrote, and removes one event of the third.
        cluster.sql(1, "UPDATE items SET qty = -1 WHERE id = 1");       // west changes east's row
        cluster.sql(2, "UPDATE items SET qty = -2 WHERE id = 1001");    // north changes west's row
        cluster.sql(0, "UPDATE items SET qty = -3 WHERE id = 2001");    // east changes north's row
        cluster.sql(0, "DELETE FROM events WHERE written_on = 'west' AND seq = 1");
        cluster.sql(1, "DELETE FROM events WHERE written_on = 'north' AND seq = 1");
        cluster.sql(2, "DELETE FROM events WHERE written_on = 'east' AND seq = 1");
        cluster.awaitSettled(Duration.ofSeconds(30));
        for (int n = 0; n < 3; n++) {
            assertEquals(List.of("1:-1", "1001:-2", "2001:-3"), cluster.queryColumn(n,
                            "SELECT id || ':' || qty FROM items WHERE qty < 0 ORDER BY id"),
                    cluster.name(n) + " must hold each node's update of another node's row");
            assertEquals(3 * ROWS_PER_NODE - 3, cluster.count(n, "SELECT count(*) FROM events"),
                    cluster.name(n) + " must have lost exactly the three deleted events");
            assertEquals(0, cluster.count(n, "SELECT count(*) FROM pgmesh.conflicts WHERE conflict_type"
                            + " IN ('insert_exists', 'update_missing', 'delete_missing')"),
                    cluster.name(n) + " must not meet any change twice (a forwarded copy would collide or miss)");
            assertEquals(List.of(), cluster.queryColumn(n, "SELECT roname FROM pg_replication_origin"
                            + " WHERE roname NOT IN (" + otherOrigins(n) + ")"),
                    cluster.name(n) + " must apply only under the origins of the two other nodes");
        }
        for (int n = 1; n < 3; n++) {
            assertEquals(cluster.dump(0, "items", "id"), cluster.dump(n, "items", "id"),
                    cluster.name(n) + " must hold the same items as east");
            assertEquals(cluster.dump(0, "events", "written_on, seq"), cluster.dump(n, "events", "written_on, seq"),
                    cluster.name(n) + " must hold the same events as east");
        }
    }

    private static String otherOrigins(int node) {
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < 3; n++) {
            if (n != node) {
                sb.append(sb.length() == 0 ? "" : ", ").append("'pgmesh_").append(cluster.name(n)).append('\'');
            }
        }
        return sb.toString();
    }
}
