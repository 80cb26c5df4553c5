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
 * Columns are matched by name, never by position: peers may order columns differently, and a
 * target may carry a column the source lacks (it then gets its default or NULL).
 */
@Timeout(90)
class ColumnMappingIT {
    private static final String ORDERS = "SELECT id || '|' || item || '|' || qty || '|' || coalesce(note, '<null>')"
            + " FROM orders ORDER BY id";

    @AutoClose
    static PgCluster cluster;
    static MeshRunner runner;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        // The same columns in different orders on the two nodes; east also has a dropped column in between.
        cluster.sql(0, "CREATE TABLE orders (id int PRIMARY KEY, junk int, item text, qty int, note text)");
        cluster.sql(0, "ALTER TABLE orders DROP COLUMN junk");
        cluster.sql(1, "CREATE TABLE orders (note text, qty int, id int PRIMARY KEY, item text)");
        // West has two columns east lacks. Only east writes this table: west's changes would carry
        // them, and east could not apply those (it would say so and retry).
        cluster.sql(0, "CREATE TABLE contacts (id int PRIMARY KEY, name text, email text)");
        cluster.sql(1, "CREATE TABLE contacts (email text, remark text, id int PRIMARY KEY,"
                + " source text DEFAULT 'replicated', name text)");
        // A stored generated column is not sent: each node computes its own (west's sits elsewhere).
        cluster.sql(0, "CREATE TABLE tickets (id int PRIMARY KEY, title text,"
                + " shout text GENERATED ALWAYS AS (upper(title)) STORED)");
        cluster.sql(1, "CREATE TABLE tickets (shout text GENERATED ALWAYS AS (upper(title)) STORED,"
                + " title text, id int PRIMARY KEY)");
        runner = cluster.startMesh();
    }

    @Test
    void rowsArriveInBothDirectionsAlthoughTheColumnsAreInAnotherOrder() throws Exception {
        cluster.sql(0, "INSERT INTO orders (id, item, qty, note) VALUES (1, 'apple', 3, 'from east'), (2, 'pear', 5, NULL)");
        cluster.sql(1, "INSERT INTO orders (id, item, qty, note) VALUES (11, 'plum', 7, 'from west'), (12, 'fig', 9, NULL)");
        cluster.awaitSettled(Duration.ofSeconds(30));
        List<String> expected = List.of("1|apple|3|from east", "2|pear|5|<null>", "11|plum|7|from west", "12|fig|9|<null>");
        assertEquals(expected, cluster.queryColumn(1, ORDERS), "west must hold every value in the column of its name");
        assertEquals(expected, cluster.queryColumn(0, ORDERS), "east must hold every value in the column of its name");

        cluster.sql(1, "UPDATE orders SET qty = qty * 100, note = 'changed on west' WHERE id = 1");
        cluster.sql(0, "UPDATE orders SET item = 'big plum' WHERE id = 11");
        cluster.sql(0, "DELETE FROM orders WHERE id = 12");
        cluster.awaitSettled(Duration.ofSeconds(30));
        expected = List.of("1|apple|300|changed on west", "2|pear|5|<null>", "11|big plum|7|from west");
        assertEquals(expected, cluster.queryColumn(0, ORDERS), "west's update must land in east's columns of the same names");
        assertEquals(expected, cluster.queryColumn(1, ORDERS), "east's update and delete must find west's rows");
    }

    @Test
    void targetWithExtraColumnsTakesTheRowsAndFillsTheRestItself() throws Exception {
        cluster.sql(0, "INSERT INTO contacts VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', NULL), (3, 'Cy', 'cy@x')");
        cluster.sql(0, "UPDATE contacts SET email = 'bob@example.com' WHERE id = 2");
        cluster.sql(0, "DELETE FROM contacts WHERE id = 3");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(List.of("1|Ann|ann@example.com|<null>|replicated", "2|Bob|bob@example.com|<null>|replicated"),
                cluster.queryColumn(1, "SELECT id || '|' || name || '|' || email || '|' || coalesce(remark, '<null>')"
                        + " || '|' || source FROM contacts ORDER BY id"),
                "west must place east's values by name and fill its extra columns with NULL and their default");
    }

    @Test
    void generatedColumnsAreComputedByEachNode() throws Exception {
        cluster.sql(0, "INSERT INTO tickets (id, title) VALUES (1, 'east one'), (2, 'east two')");
        cluster.sql(1, "INSERT INTO tickets (id, title) VALUES (11, 'west one')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(1, "UPDATE tickets SET title = 'east two, edited on west' WHERE id = 2");
        cluster.sql(0, "UPDATE tickets SET title = 'west one, edited on east' WHERE id = 11");
        cluster.sql(0, "DELETE FROM tickets WHERE id = 1");
        cluster.awaitSettled(Duration.ofSeconds(30));
        List<String> expected = List.of("2|east two, edited on west|EAST TWO, EDITED ON WEST",
                "11|west one, edited on east|WEST ONE, EDITED ON EAST");
        String query = "SELECT id || '|' || title || '|' || shout FROM tickets ORDER BY id";
        assertEquals(expected, cluster.queryColumn(0, query), "east must compute the generated column of west's rows");
        assertEquals(expected, cluster.queryColumn(1, query), "west must compute the generated column of east's rows");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "no task may be stuck on a generated column");
    }
}
