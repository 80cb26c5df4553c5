package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An UPDATE that leaves a TOASTed column alone arrives without that column (pgoutput's "unchanged
 * TOAST" marker); the target must keep its copy of the value, not null it or fail.
 */
@Timeout(90)
class ToastedValueIT {
    /** 1 MiB of random hex: pglz cannot shrink it by the quarter it needs, so it is stored out of line, as is. */
    private static final String RANDOM_MIB =
            "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 32768) g)";

    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE docs (id int PRIMARY KEY, title text, version int, body text)");
        cluster.sqlAll("CREATE TABLE docs_full (id int, title text, body text)");
        cluster.sqlAll("ALTER TABLE docs_full REPLICA IDENTITY FULL");
        cluster.startMesh();
    }

    @Test
    void updateOfAnotherColumnKeepsTheToastedValueInBothDirections() throws Exception {
        cluster.sql(0, "INSERT INTO docs VALUES (1, 'east doc', 1, " + RANDOM_MIB + ")");
        cluster.sql(1, "INSERT INTO docs VALUES (2, 'west doc', 1, " + RANDOM_MIB + ")");
        assertStoredOutOfLine(0, "docs", 1);
        cluster.awaitSettled(Duration.ofSeconds(30));
        String before = bodies();
        assertEquals(before, bodies(1), "both 1 MiB bodies must arrive intact");

        cluster.sql(0, "UPDATE docs SET title = 'east doc, renamed on east', version = version + 1 WHERE id = 1");
        cluster.sql(1, "UPDATE docs SET title = 'west doc, renamed on west', version = version + 1 WHERE id = 2");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(before, bodies(), "east's bodies must be untouched by title updates");
        assertEquals(before, bodies(1), "west's copy of each body must survive an update that did not send it");
        assertEquals("east doc, renamed on east", cluster.queryString(1, "SELECT title FROM docs WHERE id = 1"),
                "the updated column itself must arrive");

        // Each node now updates the other's document: the change goes through conflict detection
        // (the row was last written by another origin) and must still leave the body alone.
        cluster.sql(1, "UPDATE docs SET title = 'east doc, renamed on west', version = version + 1 WHERE id = 1");
        cluster.sql(0, "UPDATE docs SET title = 'west doc, renamed on east', version = version + 1 WHERE id = 2");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(before, bodies(), "east must keep both bodies after updates that came from west");
        assertEquals(before, bodies(1), "west must keep both bodies after updates that came from east");
        assertEquals(cluster.queryColumn(0, "SELECT row(id, title, version)::text FROM docs ORDER BY id"),
                cluster.queryColumn(1, "SELECT row(id, title, version)::text FROM docs ORDER BY id"),
                "the small columns must end identical on both nodes");
        assertEquals("3", cluster.queryString(1, "SELECT version FROM docs WHERE id = 1"),
                "west's update of east's document must be the last one on both nodes");
    }

    @Test
    void replicaIdentityFullRowWithToastedValueIsFoundAndUpdated() throws Exception {
        cluster.sql(0, "INSERT INTO docs_full VALUES (1, 'full doc', " + RANDOM_MIB + ")");
        assertStoredOutOfLine(0, "docs_full", 1);
        cluster.awaitSettled(Duration.ofSeconds(30));
        String body = cluster.queryString(0, "SELECT md5(body) FROM docs_full WHERE id = 1");
        assertEquals(body, cluster.queryString(1, "SELECT md5(body) FROM docs_full WHERE id = 1"),
                "the 1 MiB body must arrive intact");

        cluster.sql(0, "UPDATE docs_full SET title = 'full doc, renamed' WHERE id = 1");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals("full doc, renamed", cluster.queryString(1, "SELECT title FROM docs_full WHERE id = 1"),
                "west must find the row by all its old values, the 1 MiB one included, and update it");
        assertEquals(body, cluster.queryString(1, "SELECT md5(body) FROM docs_full WHERE id = 1"),
                "the body must survive the update that did not send it");
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM pgmesh.conflicts WHERE table_name LIKE '%docs_full%'"),
                "a row present on west must not be reported missing");

        cluster.sql(1, "DELETE FROM docs_full WHERE id = 1");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(0, cluster.count(0, "SELECT count(*) FROM docs_full"), "west's delete must find the row on east");
    }

    /** The value is large and uncompressed, so PostgreSQL keeps it in the TOAST table, out of line. */
    private static void assertStoredOutOfLine(int node, String table, int id) throws Exception {
        long size = cluster.count(node, "SELECT pg_column_size(body) FROM " + table + " WHERE id = " + id);
        assertTrue(size > 1_000_000, "the test body must be stored uncompressed (" + size + " bytes), hence out of line");
        long toast = cluster.count(node, "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = '"
                + table + "'");
        assertTrue(toast > 1_000_000, "the body must live in " + table + "'s TOAST table, which holds " + toast + " bytes");
    }

    private static String bodies() throws Exception {
        return bodies(0);
    }

    private static String bodies(int node) throws Exception {
        return String.join(",", cluster.queryColumn(node,
                "SELECT id || ':' || length(body) || ':' || md5(body) FROM docs ORDER BY id"));
    }
}
