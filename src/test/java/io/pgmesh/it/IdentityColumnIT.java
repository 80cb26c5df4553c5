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
 * A key that is {@code GENERATED ALWAYS AS IDENTITY}, the form PostgreSQL recommends, with its
 * values partitioned per node (docs/CONFLICTS.md, "IDs that do not collide"): rows written on either node replicate under
 * the key they were given there, and later updates and deletes find them.
 */
@Timeout(90)
class IdentityColumnIT {
    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE tickets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text)");
        cluster.sql(1, "ALTER TABLE tickets ALTER COLUMN id RESTART WITH 1000001");
        runner = cluster.startMesh();
    }

    @Test
    void rowsKeyedByAnIdentityAlwaysColumnReplicateBothWays() throws Exception {
        cluster.sql(0, "INSERT INTO tickets (title) VALUES ('east one'), ('east two')");
        cluster.sql(1, "INSERT INTO tickets (title) VALUES ('west one')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        List<String> inserted = List.of("1|east one", "2|east two", "1000001|west one");
        String query = "SELECT id || '|' || title FROM tickets ORDER BY id";
        assertEquals(inserted, cluster.queryColumn(1, query), "west must hold east's rows under east's identity values");
        assertEquals(inserted, cluster.queryColumn(0, query), "east must hold west's row under west's identity value");

        cluster.sql(1, "UPDATE tickets SET title = 'east two, edited on west' WHERE id = 2");
        cluster.sql(0, "UPDATE tickets SET title = 'west one, edited on east' WHERE id = 1000001");
        cluster.sql(0, "DELETE FROM tickets WHERE id = 1");
        cluster.awaitSettled(Duration.ofSeconds(30));
        List<String> changed = List.of("2|east two, edited on west", "1000001|west one, edited on east");
        assertEquals(changed, cluster.queryColumn(0, query), "west's update must reach east");
        assertEquals(changed, cluster.queryColumn(1, query), "east's update and delete must reach west");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "no task may be stuck on the identity column");
    }
}
