package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.RetryPolicy;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two nodes, writes on both: rows arrive on the other node and nothing echoes. */
@Timeout(120)
class BasicReplicationIT {
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, name text, qty int)");
        runner = new MeshRunner(cluster.config(), new RetryPolicy(Duration.ofMillis(200), Duration.ofSeconds(2)));
        runner.start();
        cluster.awaitCaughtUp(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() {
        if (runner != null) {
            runner.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void insertsUpdatesAndDeletesReachTheOtherNodeBothWays() throws Exception {
        cluster.sql(0, "INSERT INTO items SELECT g, 'east ' || g, g FROM generate_series(1, 100) g");
        cluster.sql(1, "INSERT INTO items SELECT g, 'west ' || g, g FROM generate_series(101, 200) g");
        cluster.sql(0, "UPDATE items SET qty = qty * 10 WHERE id <= 10");
        cluster.sql(1, "DELETE FROM items WHERE id > 190");
        cluster.awaitCaughtUp(Duration.ofSeconds(30));

        assertEquals(190, cluster.count(0, "SELECT count(*) FROM items"), "east must hold both nodes' rows less the deleted");
        assertEquals(cluster.dump(0, "items", "id"), cluster.dump(1, "items", "id"), "both nodes must hold the same rows");
        assertEquals(100, cluster.count(1, "SELECT qty FROM items WHERE id = 10"), "east's update must reach west");
    }
}
