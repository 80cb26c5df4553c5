package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An UPDATE that changes the primary key finds the row by its old key and moves it, columns intact. */
@Timeout(90)
class KeyChangeIT {
    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE items (id int PRIMARY KEY, name text, qty int, body text)");
        cluster.sqlAll("CREATE TABLE pairs (a int, b text, payload text, PRIMARY KEY (a, b))");
        cluster.startMesh();
    }

    @Test
    void keyChangeMovesTheRowOnTheOtherNodeInBothDirections() throws Exception {
        // Row 3 carries a TOASTed body that the key-changing UPDATE does not send again.
        cluster.sql(0, "INSERT INTO items VALUES (1, 'one', 10, 'small'), (2, 'two', 20, NULL),"
                + " (3, 'three', 30, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 4000)))");
        cluster.sql(1, "INSERT INTO items VALUES (11, 'eleven', 110, 'west row')");
        cluster.awaitSettled(Duration.ofSeconds(30));

        cluster.sql(0, "UPDATE items SET id = 1001 WHERE id = 1");
        cluster.sql(0, "UPDATE items SET id = 1003 WHERE id = 3");
        cluster.sql(1, "UPDATE items SET id = 1011, qty = qty + 1 WHERE id = 11");
        cluster.sql(1, "UPDATE items SET id = 1002 WHERE id = 2"); // a row that east wrote, re-keyed on west
        cluster.awaitSettled(Duration.ofSeconds(30));

        List<String> east = cluster.queryColumn(0, "SELECT id || ' ' || name || ' ' || qty || ' ' || coalesce(md5(body), '-')"
                + " FROM items ORDER BY id");
        assertEquals(List.of(1001, 1002, 1003, 1011), ids(1), "west must hold the rows under their new keys only");
        assertEquals(List.of(1001, 1002, 1003, 1011), ids(0), "east must hold the rows under their new keys only");
        assertEquals(east, cluster.queryColumn(1, "SELECT id || ' ' || name || ' ' || qty || ' ' || coalesce(md5(body), '-')"
                        + " FROM items ORDER BY id"),
                "every other column (the TOASTed body included) must survive the key change on the other node");
        assertEquals("111", cluster.queryString(0, "SELECT qty FROM items WHERE id = 1011"),
                "a column changed together with the key must arrive");
        assertEquals(cluster.dump(0, "items", "id"), cluster.dump(1, "items", "id"), "both nodes must end identical");
    }

    @Test
    void changeOfOnePartOfACompositeKeyReplicates() throws Exception {
        cluster.sql(0, "INSERT INTO pairs VALUES (1, 'x', 'p1'), (1, 'y', 'p2'), (2, 'x', 'p3')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(0, "UPDATE pairs SET b = 'z' WHERE a = 1 AND b = 'x'");
        cluster.sql(1, "UPDATE pairs SET a = 3 WHERE a = 2 AND b = 'x'");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals("(1,y,p2)\n(1,z,p1)\n(3,x,p3)\n", cluster.dump(1, "pairs", "a, b"),
                "west must hold the re-keyed rows, each payload with its row");
        assertEquals(cluster.dump(0, "pairs", "a, b"), cluster.dump(1, "pairs", "a, b"), "both nodes must end identical");
    }

    private static List<Integer> ids(int node) throws Exception {
        return cluster.queryColumn(node, "SELECT id FROM items ORDER BY id").stream().map(Integer::valueOf).toList();
    }
}
