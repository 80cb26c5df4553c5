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
 * The conflict shapes that used to end with nodes that differ, or with a dead task: UPDATEs that
 * change the key (for conflicts, a delete of the old key plus an insert of the new one), and
 * winning UPDATEs that lack an unchanged TOAST value the loser no longer holds. Each case writes
 * on both nodes while replication is stopped (east first, west later, so west's commit is newer),
 * then replication runs: every node must end with the same rows and every task must stream.
 */
@Timeout(180)
class KeyChangeAndToastConflictIT {
    /** 256 KiB of random hex stored out of line, uncompressed: pgoutput sends it only when it changes. */
    private static final String BIG = "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 8192) g)";

    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        cluster.sqlAll("CREATE TABLE t (id int PRIMARY KEY, v text, doc text)");
        cluster.sqlAll("ALTER TABLE t ALTER doc SET STORAGE EXTERNAL");
    }

    /** Seeds rows through replication, stops it, runs {@code east} then {@code west}, replicates, compares. */
    private static void scenario(String seed, String east, String west) throws Exception {
        MeshRunner runner = cluster.startMesh();
        cluster.sql(0, "TRUNCATE t");
        cluster.awaitSettled(Duration.ofSeconds(30));
        if (seed != null) {
            cluster.sql(0, seed);
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(rows(0), rows(1), "the seed must reach west before the scenario");
        runner.close();
        cluster.sql(0, east);
        cluster.sql(1, west);
        runner = cluster.startMesh();
        cluster.awaitSettled(Duration.ofSeconds(60));
        assertEquals(rows(0), rows(1), "east ran [" + east + "], then west ran [" + west + "]: both nodes must end alike");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "no task may fail over a conflict");
        runner.close();
    }

    private static List<String> rows(int node) throws Exception {
        return cluster.queryColumn(node, "SELECT row(id, v, md5(doc))::text FROM t ORDER BY id");
    }

    private static String seed(int... ids) {
        StringBuilder sql = new StringBuilder("INSERT INTO t VALUES ");
        for (int i = 0; i < ids.length; i++) {
            sql.append(i == 0 ? "" : ", ").append("(").append(ids[i]).append(", 'seed', ").append(BIG).append(")");
        }
        return sql.toString();
    }

    @Test
    void theSameKeyChangeOnBothNodes() throws Exception {
        scenario(seed(1), "UPDATE t SET id = 2, v = 'east' WHERE id = 1", "UPDATE t SET id = 2, v = 'west' WHERE id = 1");
        assertEquals(List.of("(2,west)"), cluster.queryColumn(0, "SELECT row(id, v)::text FROM t"),
                "the newer of the two moves wins on both nodes");
    }

    @Test
    void aKeyChangeThenALaterUpdateOfTheOldKeyElsewhere() throws Exception {
        scenario(seed(10), "UPDATE t SET id = 11 WHERE id = 10", "UPDATE t SET v = 'west' WHERE id = 10");
        assertEquals(List.of("(10,west)", "(11,seed)"), cluster.queryColumn(1, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "west's newer update keeps key 10 alive and east's move still creates key 11, with its document");
    }

    @Test
    void anUpdateOfTheOldKeyThenALaterKeyChangeElsewhere() throws Exception {
        scenario(seed(20), "UPDATE t SET v = 'east' WHERE id = 20", "UPDATE t SET id = 21 WHERE id = 20");
        assertEquals(List.of("(21,seed)"), cluster.queryColumn(0, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "west's newer move deletes key 20 everywhere, east's older update of it included");
    }

    @Test
    void aKeyChangeOntoAKeyAnotherNodeInsertedLater() throws Exception {
        scenario(seed(30), "UPDATE t SET id = 31, v = 'moved on east' WHERE id = 30",
                "INSERT INTO t VALUES (31, 'inserted on west', 'small')");
        assertEquals(List.of("(31,\"inserted on west\")"), cluster.queryColumn(0, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "west's newer insert wins key 31, and key 30 is gone");
    }

    @Test
    void twoNodesMoveTheSameKeyToDifferentKeys() throws Exception {
        scenario(seed(40), "UPDATE t SET id = 41 WHERE id = 40", "UPDATE t SET id = 42 WHERE id = 40");
        assertEquals(List.of("(41,seed)", "(42,seed)"), cluster.queryColumn(1, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "each move inserts its new key; the old key is gone everywhere");
    }

    @Test
    void aKeyChangeThenALaterDeleteOfTheOldKeyElsewhere() throws Exception {
        scenario(seed(50), "UPDATE t SET id = 51 WHERE id = 50", "DELETE FROM t WHERE id = 50");
        assertEquals(List.of("(51,seed)"), cluster.queryColumn(1, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "the delete removes key 50 and the move's new key 51 stays");
    }

    @Test
    void aChainOfKeyChangesAcrossNodes() throws Exception {
        MeshRunner runner = cluster.startMesh();
        cluster.sql(0, "TRUNCATE t");
        cluster.sql(0, seed(60));
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(0, "UPDATE t SET id = 61 WHERE id = 60");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(1, "UPDATE t SET id = 62, v = 'west' WHERE id = 61");
        cluster.awaitSettled(Duration.ofSeconds(30));
        cluster.sql(0, "UPDATE t SET id = 63 WHERE id = 62");
        cluster.awaitSettled(Duration.ofSeconds(30));
        assertEquals(List.of("(63,west)"), cluster.queryColumn(1, "SELECT row(id, v)::text FROM t ORDER BY id"),
                "60 -> 61 on east, 61 -> 62 on west, 62 -> 63 on east must end as one row 63 on west");
        assertEquals(rows(0), rows(1), "a chain of key changes across nodes must leave both nodes alike");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "no task may fail over a chain of key changes");
        runner.close();
    }

    @Test
    void aLaterUpdateWithoutTheToastedValueWinsWithTheWinnersValue() throws Exception {
        scenario(seed(80), "UPDATE t SET doc = 'changed on east' WHERE id = 80", "UPDATE t SET v = 'west' WHERE id = 80");
        assertEquals(List.of("(80,west,f)"), cluster.queryColumn(0,
                        "SELECT row(id, v, doc = 'changed on east')::text FROM t"),
                "west's newer update wins as a whole: its document is west's (the seed), not east's older change");
    }

    @Test
    void aLaterUpdateWithoutTheToastedValueBringsBackARowDeletedEarlier() throws Exception {
        scenario(seed(81), "DELETE FROM t WHERE id = 81", "UPDATE t SET v = 'west' WHERE id = 81");
        assertEquals(List.of("(81,west,t)"), cluster.queryColumn(0, "SELECT row(id, v, length(doc) = 256 * 1024)::text FROM t"),
                "west's newer update beats east's older delete, document included");
    }

    @Test
    void aKeyChangeThatKeepsItsToastedValueMeetsALaterUpdateOfTheOldKey() throws Exception {
        scenario(seed(90), "UPDATE t SET id = 91 WHERE id = 90", "UPDATE t SET v = 'west', doc = 'west doc' WHERE id = 90");
        assertEquals(List.of("(90,west,f)", "(91,seed,t)"), cluster.queryColumn(0,
                        "SELECT row(id, v, length(doc) = 256 * 1024)::text FROM t ORDER BY id"),
                "east's move carries no document (unchanged); key 91 must still get the seed's document on both nodes");
    }
}
