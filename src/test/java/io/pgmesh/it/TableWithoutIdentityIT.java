package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A table with neither a primary key nor another replica identity stays out of the publication:
 * published, it would make PostgreSQL reject the application's UPDATE and DELETE on it.
 */
@Timeout(90)
class TableWithoutIdentityIT {
    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE keyed (id int PRIMARY KEY, v text)");
        cluster.sqlAll("CREATE TABLE keyless (a int, b text)");
        // A unique index on NOT NULL columns may serve as the identity instead of a primary key.
        cluster.sqlAll("CREATE TABLE indexed (code text NOT NULL, v text)");
        cluster.sqlAll("CREATE UNIQUE INDEX indexed_code ON indexed (code)");
        cluster.sqlAll("ALTER TABLE indexed REPLICA IDENTITY USING INDEX indexed_code");
        cluster.startMesh();
    }

    @Test
    void keylessTableIsLeftOutAndTheApplicationCanStillChangeIt() throws Exception {
        for (int n = 0; n < 2; n++) {
            assertEquals(List.of("public.indexed", "public.keyed"), cluster.queryColumn(n,
                            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = 'pgmesh'"
                                    + " ORDER BY 1"),
                    cluster.name(n) + " must publish the tables with a replica identity and leave out the keyless one");
        }
        try (Connection c = cluster.connect(0); Statement st = c.createStatement()) {
            assertEquals(3, st.executeUpdate("INSERT INTO keyless VALUES (1, 'one'), (2, 'two'), (3, 'three')"),
                    "the application's INSERT into the keyless table must work");
            assertEquals(1, st.executeUpdate("UPDATE keyless SET b = 'TWO' WHERE a = 2"),
                    "the application's UPDATE of the keyless table must work (it would fail were the table published)");
            assertEquals(1, st.executeUpdate("DELETE FROM keyless WHERE a = 3"),
                    "the application's DELETE from the keyless table must work (it would fail were the table published)");
        }
        cluster.sql(0, "INSERT INTO keyed VALUES (1, 'keyed')");
        cluster.sql(0, "INSERT INTO indexed VALUES ('c1', 'indexed')");
        cluster.sql(0, "UPDATE indexed SET v = 'indexed, updated' WHERE code = 'c1'");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals("(1,one)\n(2,TWO)\n", cluster.dump(0, "keyless", "a"), "east must keep its own changes");
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM keyless"), "the keyless table must not replicate");
        assertEquals("keyed", cluster.queryString(1, "SELECT v FROM keyed WHERE id = 1"),
                "the tables with a key must replicate as ever");
        assertEquals("indexed, updated", cluster.queryString(1, "SELECT v FROM indexed WHERE code = 'c1'"),
                "a table whose replica identity is a unique index must replicate its updates");
    }
}
