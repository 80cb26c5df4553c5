package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TableSelection;
import io.pgmesh.setup.Teardown;
import io.pgmesh.task.MeshRunner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Slots and replication origins belong to a whole server. Two meshes on two databases of the
 * same servers: tearing one down must leave the other exactly as it was, a write it has not
 * replicated yet included.
 */
@Timeout(180)
class TeardownIT {
    private static final String OTHER_DB = "app2";

    @Test
    void teardownOfOneMeshLeavesAnotherMeshOnTheSameServersAlone() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE t (id int PRIMARY KEY, v text)");
            for (int n = 0; n < 2; n++) {
                c.server(n).createDatabase(OTHER_DB);
                sql(c, n, "CREATE TABLE t (id int PRIMARY KEY, v text)");
            }
            MeshConfig one = c.config();
            MeshConfig two = new MeshConfig(List.of(
                    new NodeConfig("east2", "127.0.0.1", c.server(0).port(), OTHER_DB, "postgres", Secret.NONE, "disable"),
                    new NodeConfig("west2", "127.0.0.1", c.server(1).port(), OTHER_DB, "postgres", Secret.NONE, "disable")),
                    TableSelection.defaults());
            MeshRunner runOne = c.startMesh(one);
            MeshRunner runTwo = start(c, two);
            sql(c, 0, "INSERT INTO t VALUES (1, 'replicated')");
            awaitRow(c, 1);
            runTwo.close();
            // Written while the other mesh is stopped: its slot on east2 keeps it until it runs again.
            sql(c, 0, "INSERT INTO t VALUES (2, 'written before the teardown')");
            runOne.close();

            StringWriter text = new StringWriter();
            assertTrue(new Teardown(one, new PrintWriter(text, true)).run(false), text.toString());
            assertTrue(text.toString().contains("east: kept pgmesh_east2_west2 (database app2)"), text.toString());
            assertEquals(List.of("pgmesh_east2_west2"), column(c, 0, "SELECT slot_name FROM pg_replication_slots"),
                    "only the other mesh's slot is left on east");
            assertEquals(List.of("pgmesh_west2"), column(c, 0, "SELECT roname FROM pg_replication_origin"),
                    "only the other mesh's origin is left on east");

            runTwo = start(c, two);
            awaitRow(c, 2);
            // Its running sessions are no reason to refuse a teardown of this mesh.
            text = new StringWriter();
            assertTrue(new Teardown(one, new PrintWriter(text, true)).run(false), text.toString());
            assertEquals(2, column(c, 1, "SELECT slot_name FROM pg_replication_slots").size()
                    + column(c, 0, "SELECT slot_name FROM pg_replication_slots").size(), "the other mesh keeps both slots");
            runTwo.close();
        }
    }

    @Test
    void aMeshWhoseNodeNamesAreTakenIsRefusedAndTeardownKeepsWhatUserViewsNeed() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE TABLE t (id int PRIMARY KEY, v text)");
            for (int n = 0; n < 2; n++) {
                c.server(n).createDatabase(OTHER_DB);
                sql(c, n, "CREATE TABLE t (id int PRIMARY KEY, v text)");
            }
            MeshConfig one = c.config();
            MeshRunner runOne = c.startMesh(one);
            // The same node names on the other database of the same servers would share slots and origins.
            MeshConfig sameNames = new MeshConfig(List.of(
                    new NodeConfig("east", "127.0.0.1", c.server(0).port(), OTHER_DB, "postgres", Secret.NONE, "disable"),
                    new NodeConfig("west", "127.0.0.1", c.server(1).port(), OTHER_DB, "postgres", Secret.NONE, "disable")),
                    TableSelection.defaults());
            List<String> taken = io.pgmesh.check.Preflight.run(sameNames).stream()
                    .filter(f -> f.code().equals("slot_name_taken") && f.isError()).map(f -> f.node()).toList();
            assertEquals(List.of("east", "west"), taken, "check refuses the second mesh on both nodes");
            runOne.close();

            c.sql(1, "CREATE VIEW recent_conflicts AS SELECT table_name, recorded_at FROM pgmesh.conflicts");
            StringWriter text = new StringWriter();
            assertTrue(new Teardown(one, new PrintWriter(text, true)).run(false), text.toString());
            assertTrue(text.toString().contains("west: kept schema pgmesh and its tables (the conflict log among them),"
                    + " because rule _RETURN on view recent_conflicts depend on them"), text.toString());
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_views WHERE viewname = 'recent_conflicts'"),
                    "the user's view survives");
            assertEquals(0, c.count(1, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgmesh%'"),
                    "no tombstone trigger keeps acting on the user's table");
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmesh'"),
                    "east had no such view: its schema is gone");

            c.sql(1, "DROP VIEW recent_conflicts");
            text = new StringWriter();
            assertTrue(new Teardown(one, new PrintWriter(text, true)).run(false), text.toString());
            assertEquals(0, c.count(1, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgmesh'"), text.toString());
        }
    }

    private static MeshRunner start(PgCluster c, MeshConfig mesh) throws Exception {
        MeshRunner r = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
        r.start();
        PgCluster.awaitStreaming(r, Duration.ofSeconds(60));
        return r;
    }

    private static void awaitRow(PgCluster c, int id) throws InterruptedException {
        PgCluster.await(Duration.ofSeconds(60), "row " + id + " of the other mesh on west2", () -> {
            try {
                return !column(c, 1, "SELECT v FROM t WHERE id = " + id, OTHER_DB).isEmpty();
            } catch (Exception e) {
                return false;
            }
        });
    }

    private static void sql(PgCluster c, int node, String sql) throws Exception {
        try (Connection conn = c.server(node).connect(OTHER_DB); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static List<String> column(PgCluster c, int node, String sql) throws Exception {
        return column(c, node, sql, PgCluster.DB);
    }

    private static List<String> column(PgCluster c, int node, String sql, String db) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        try (Connection conn = c.server(node).connect(db); Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
