package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.capture.ChangeStream;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.task.MeshRunner;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;

/**
 * An UPDATE that leaves a TOASTed value out means "the value the source holds", and with three
 * nodes the source may hold a value that a third node wrote and the target has not seen, or will
 * keep out as older. Seen in the random convergence test, made deterministic here: north rewrites
 * the document, west applies that and then updates another column, and east gets west's update
 * before north's rewrite, which then loses to it by time. East must still end with north's
 * document, as west has it.
 */
@Timeout(120)
class ThreeNodeToastIT {
    private static final int EAST = 0;
    private static final int WEST = 1;
    private static final int NORTH = 2;
    private static final String BIG = "(SELECT string_agg(md5(random()::text || g), '') FROM generate_series(1, 4096) g)";

    @AutoClose
    static PgCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(3);
        cluster.sqlAll("CREATE TABLE t (id int PRIMARY KEY, v text, doc text)");
        cluster.sqlAll("ALTER TABLE t ALTER doc SET STORAGE EXTERNAL");
    }

    private static List<String> rows(int node) throws Exception {
        return cluster.queryColumn(node, "SELECT row(id, v, md5(doc))::text FROM t ORDER BY id");
    }

    @Test
    void anUnchangedValueThatTheSourceTookFromAThirdNodeReachesATargetThatHadNotSeenIt() throws Exception {
        MeshRunner runner = cluster.startMesh();
        cluster.sql(WEST, "INSERT INTO t VALUES (1, 'seed', " + BIG + ")");
        cluster.awaitSettled(Duration.ofSeconds(30));
        runner.close();

        NodeConfig north = cluster.config().nodes().get(NORTH);
        // Holding north's slot toward east keeps north's rewrite away from east until released.
        try (Connection held = PgConnector.connectReplication(north, "test holds north->east");
             ChangeStream stream = ChangeStream.start(held.unwrap(PGConnection.class), "pgmesh_north_east", Lsn.ZERO,
                     ServerCapabilities.of(cluster.connect(NORTH)))) {
            cluster.sql(NORTH, "UPDATE t SET doc = 'north:' || " + BIG + " WHERE id = 1");
            String northDoc = cluster.queryString(NORTH, "SELECT md5(doc) FROM t WHERE id = 1");
            runner = cluster.track(new MeshRunner(cluster.config(), PgCluster.testRetry()));
            runner.start();
            PgCluster.await(Duration.ofSeconds(30), "west to apply north's rewrite", () -> northDoc.equals(
                    cluster.queryStringOrNull(WEST, "SELECT md5(doc) FROM t WHERE id = 1")));
            cluster.sql(WEST, "UPDATE t SET v = 'west, after north''s rewrite' WHERE id = 1");
            PgCluster.await(Duration.ofSeconds(30), "east to apply west's update", () -> "west, after north's rewrite".equals(
                    cluster.queryStringOrNull(EAST, "SELECT v FROM t WHERE id = 1")));
        }
        cluster.awaitSettled(Duration.ofSeconds(60));
        assertEquals(rows(WEST), rows(EAST), "east must hold the document west's update left out as unchanged: north's");
        assertEquals(rows(WEST), rows(NORTH), "north must end like west");
        assertEquals(List.of(), PgCluster.notStreaming(runner), "every task streams again once the slot is free");
        runner.close();
    }
}
