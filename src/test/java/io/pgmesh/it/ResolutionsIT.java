package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.check.Finding;
import io.pgmesh.check.Preflight;
import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.ConflictSettings.Rule;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.task.MeshRunner;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each resolution decides a simple two-node conflict as documented. The conflict is made for sure:
 * with pgmesh stopped, east and then west update the same row (west's is the newer version), and
 * both learn of the other's when pgmesh starts again.
 */
@Timeout(180)
class ResolutionsIT {
    private static final List<String> TABLES = List.of("lww", "fuw", "keep", "remote", "err");

    @AutoClose
    static PgCluster cluster;
    static MeshConfig mesh;

    @BeforeAll
    static void start() throws Exception {
        cluster = PgCluster.start(2);
        for (String t : TABLES) {
            cluster.sqlAll("CREATE TABLE " + t + " (id int PRIMARY KEY, val text)");
        }
        mesh = cluster.config().withConflicts(new ConflictSettings(Rule.LAST_UPDATE_WINS,
                Map.of("public.fuw", Rule.FIRST_UPDATE_WINS, "public.keep", Rule.KEEP_LOCAL,
                        "public.remote", Rule.APPLY_REMOTE, "public.err", Rule.ERROR),
                ConflictSettings.OnError.SKIP));
    }

    @Test
    void eachResolutionDecidesAConcurrentUpdateAsDocumented() throws Exception {
        MeshRunner runner = cluster.startMesh(mesh);
        for (String t : TABLES) {
            cluster.sql(0, "INSERT INTO " + t + " VALUES (1, 'initial'), (2, 'untouched')");
        }
        cluster.awaitSettled(Duration.ofSeconds(30));
        runner.close();
        for (String t : TABLES) {
            cluster.sql(0, "UPDATE " + t + " SET val = 'east' WHERE id = 1");
        }
        for (String t : TABLES) {
            cluster.sql(1, "UPDATE " + t + " SET val = 'west' WHERE id = 1"); // committed later: the newer version
        }
        MeshRunner again = cluster.startMesh(mesh);
        cluster.awaitSettled(Duration.ofSeconds(30));

        assertEquals(List.of("west", "west"), values("lww"), "last-update-wins: both keep the newer (west's)");
        assertEquals(List.of("east", "east"), values("fuw"), "first-update-wins: both keep the older (east's)");
        assertEquals(List.of("east", "west"), values("keep"), "keep-local: each node keeps its own version");
        assertEquals(List.of("west", "east"), values("remote"), "apply-remote: each node takes the other's version");
        assertEquals(List.of("east", "west"), values("err"), "error: neither node changes its row");

        for (int n = 0; n < 2; n++) {
            String other = cluster.name(1 - n);
            assertEquals(List.of("public.fuw|update_differs|" + (n == 0 ? "keep_local" : "apply_remote"),
                            "public.keep|update_differs|keep_local",
                            "public.lww|update_differs|" + (n == 0 ? "apply_remote" : "keep_local"),
                            "public.remote|update_differs|apply_remote"),
                    cluster.queryColumn(n, "SELECT concat_ws('|', table_name, conflict_type, resolution)"
                            + " FROM pgmesh.conflicts ORDER BY table_name"),
                    "every resolved conflict on " + cluster.name(n) + " is on record with its decision");
            assertEquals(List.of(other + "|public.err|UPDATE|{\"id\": \"1\"}"),
                    cluster.queryColumn(n, "SELECT concat_ws('|', source_node, table_name, operation, key_values)"
                            + " FROM pgmesh.apply_errors"),
                    "with resolution error the conflict on " + cluster.name(n) + " is an unresolvable change"
                            + " (quarantined, as on-error is skip)");
            assertTrue(cluster.queryString(n, "SELECT error FROM pgmesh.apply_errors")
                    .contains("conflict update_differs"), "the apply error names the conflict");
        }
        assertEquals(List.of(), PgCluster.notStreaming(again), "no task stops with on-error: skip");
    }

    @Test
    void checkWarnsThatKeepLocalAndApplyRemoteCanLeaveNodesDifferent() {
        List<Finding> findings = Preflight.run(mesh).stream().filter(f -> f.code().equals("conflict_resolution")).toList();
        assertEquals(2, findings.size(), "keep-local and apply-remote each get a warning (first-update-wins converges):"
                + " " + findings);
        for (Finding f : findings) {
            assertFalse(f.isError(), f.toString());
        }
        Finding keep = findings.stream().filter(f -> f.what().contains("keep-local")).findFirst().orElseThrow();
        assertTrue(keep.what().contains("conflicts.tables.public.keep") && keep.why().contains("stay different"),
                "the warning names the key and says why: " + keep);
    }

    /** Row 1's value on east and on west. */
    private static List<String> values(String table) throws Exception {
        return List.of(cluster.queryString(0, "SELECT val FROM " + table + " WHERE id = 1"),
                cluster.queryString(1, "SELECT val FROM " + table + " WHERE id = 1"));
    }
}
