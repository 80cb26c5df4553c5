package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A table without a primary key but with REPLICA IDENTITY FULL replicates; rows are matched on
 * all their old values, and a change to one of several equal rows changes exactly one on the other node.
 */
@Timeout(90)
class ReplicaIdentityFullIT {
    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        // json has no equality operator, float and timestamptz print per session settings, NULLs never equal:
        // all must still match.
        cluster.sqlAll("CREATE TABLE readings (sensor text, value float8, at timestamptz, extra json, note text)");
        cluster.sqlAll("ALTER TABLE readings REPLICA IDENTITY FULL");
        cluster.startMesh();
    }

    @Test
    void insertsUpdatesAndDeletesOfDuplicateRowsTouchExactlyAsManyRowsOnTheOtherNode() throws Exception {
        String row = "('s1', 0.1, '2024-05-06 07:08:09.123456+02', '{ \"k\" : [1, 2] }', NULL)";
        cluster.sql(0, "INSERT INTO readings VALUES " + row + ", " + row + ", " + row);
        cluster.sql(1, "INSERT INTO readings VALUES ('w', 1e-300, 'infinity', NULL, 'west'), ('w', 1e-300, 'infinity', NULL, 'west')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(5, cluster.count(1, "SELECT count(*) FROM readings"), "west must hold 3 + 2 rows, duplicates included");
        assertEquals(5, cluster.count(0, "SELECT count(*) FROM readings"), "east must hold 3 + 2 rows, duplicates included");

        cluster.sql(0, "DELETE FROM readings WHERE ctid = (SELECT min(ctid) FROM readings WHERE sensor = 's1')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(2, cluster.count(1, "SELECT count(*) FROM readings WHERE sensor = 's1'"),
                "deleting one of three equal rows on east must delete exactly one on west");

        cluster.sql(0, "UPDATE readings SET note = 'changed on east'"
                + " WHERE ctid = (SELECT min(ctid) FROM readings WHERE sensor = 's1')");
        cluster.sql(1, "UPDATE readings SET note = 'changed on west', value = 2.5"
                + " WHERE ctid = (SELECT min(ctid) FROM readings WHERE sensor = 'w')");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(1, cluster.count(1, "SELECT count(*) FROM readings WHERE sensor = 's1' AND note = 'changed on east'"),
                "updating one of two equal rows on east must update exactly one on west");
        assertEquals(1, cluster.count(1, "SELECT count(*) FROM readings WHERE sensor = 's1' AND note IS NULL"),
                "its twin must stay as it was on west");
        assertEquals(1, cluster.count(0, "SELECT count(*) FROM readings WHERE sensor = 'w' AND note = 'changed on west'"),
                "updating one of two equal rows on west must update exactly one on east");
        assertEquals(1, cluster.count(0, "SELECT count(*) FROM readings WHERE sensor = 'w' AND note = 'west'"),
                "its twin must stay as it was on east");
        assertSame();

        cluster.sql(1, "DELETE FROM readings WHERE sensor = 's1'");
        cluster.sql(0, "DELETE FROM readings WHERE sensor = 'w' AND note = 'west'");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(1, cluster.count(0, "SELECT count(*) FROM readings"), "only west's changed row may be left on east");
        assertSame();
        assertEquals(0, cluster.count(0, "SELECT count(*) FROM pgmesh.conflicts"),
                "every change found its row on east: nothing may be reported missing");
        assertEquals(0, cluster.count(1, "SELECT count(*) FROM pgmesh.conflicts"),
                "every change found its row on west: nothing may be reported missing");
    }

    private static void assertSame() throws Exception {
        String order = "sensor, value, note NULLS FIRST";
        assertEquals(cluster.dump(0, "readings", order), cluster.dump(1, "readings", order),
                "both nodes must hold the same rows, as many times each");
    }
}
