package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * validate --repair --from NODE: the rows validate finds different on the other nodes become
 * NODE's, each key printed, with NODE's commit time, and nothing echoes when replication resumes.
 */
@Timeout(240)
class ValidateRepairIT {
    /** Changes that no task sends: made under an origin that is not pgmesh's. */
    private static final String DIVERGE = """
            SELECT pg_replication_origin_create('test_divergence')
             WHERE NOT EXISTS (SELECT FROM pg_replication_origin WHERE roname = 'test_divergence');
            SELECT pg_replication_origin_session_setup('test_divergence');
            """;

    @Test
    void differingRowsBecomeTheChosenNodesAndNothingEchoes(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sqlAll("CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL, note text, tags text[],"
                    + " at timestamptz, doubled int GENERATED ALWAYS AS (balance * 2) STORED)");
            Path file = c.writeMeshFile(dir);
            MeshRunner runner = c.startMesh();
            c.sql(0, "INSERT INTO acc (id, balance, note, tags, at) SELECT g, g, 'n' || g, ARRAY['a', g::text],"
                    + " '2026-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g");
            c.awaitSettled(Duration.ofSeconds(60));
            c.sql(2, "UPDATE acc SET note = 'by north' WHERE id = 50");
            c.awaitSettled(Duration.ofSeconds(60));
            assertEquals("by north", c.queryString(0, "SELECT note FROM acc WHERE id = 50"));
            runner.close();

            c.sql(1, DIVERGE + "UPDATE acc SET balance = -1 WHERE id <= 5; DELETE FROM acc WHERE id = 10;"
                    + " INSERT INTO acc (id, balance) VALUES (500, 5); UPDATE acc SET note = 'diverged' WHERE id = 50");
            c.sql(2, DIVERGE + "UPDATE acc SET note = 'changed', tags = NULL WHERE id = 20");
            Cli before = Cli.run("validate", "-c", file.toString(), "--catch-up-timeout", "0");
            assertEquals(1, before.code(), before.toString());

            Cli usage = Cli.run("validate", "-c", file.toString(), "--repair", "--from", "south");
            assertEquals(2, usage.code(), usage.toString());

            Cli dry = Cli.run("validate", "-c", file.toString(), "--catch-up-timeout", "0", "--repair", "--from", "east",
                    "--dry-run");
            assertEquals(1, dry.code(), dry.toString());
            assertTrue(dry.out().contains("would update public.acc (id)=(1) on west (as on east)"), dry.toString());
            assertTrue(dry.out().contains("would insert public.acc (id)=(10) on west"), dry.toString());
            assertTrue(dry.out().contains("would delete public.acc (id)=(500) on west"), dry.toString());
            assertTrue(dry.out().contains("would update public.acc (id)=(20) on north"), dry.toString());
            assertTrue(dry.out().contains("dry run: would repair 9 key(s) as on east: 1 inserted, 7 updated, 1 deleted"),
                    dry.toString());
            assertEquals(-1, c.count(1, "SELECT balance FROM acc WHERE id = 1"), "a dry run changes nothing");

            Cli repaired = Cli.run("validate", "-c", file.toString(), "--catch-up-timeout", "0", "--repair", "--from",
                    "east");
            assertEquals(0, repaired.code(), repaired.toString());
            assertTrue(repaired.out().contains("repaired 9 key(s) as on east"), repaired.toString());
            for (int n = 1; n < 3; n++) {
                assertEquals(c.dump(0, "acc", "id"), c.dump(n, "acc", "id"), c.name(n) + " holds east's rows");
            }
            assertEquals(c.queryString(0, "SELECT pg_xact_commit_timestamp(xmin)::text FROM acc WHERE id = 1"),
                    c.queryString(1, "SELECT pg_xact_commit_timestamp(xmin)::text FROM acc WHERE id = 1"),
                    "the repaired row carries east's commit time, so later conflicts are judged alike everywhere");
            String version = "SELECT o.roname || ' ' || x.\"timestamp\" FROM acc t, pg_xact_commit_timestamp_origin(t.xmin) x"
                    + " JOIN pg_replication_origin o ON o.roident = x.roident WHERE t.id = 50";
            assertEquals(c.queryString(0, version), c.queryString(1, version),
                    "a row north wrote is repaired as north's version, with north's commit time");

            runner = c.startMesh();
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 0; n < 3; n++) {
                assertEquals(c.dump(0, "acc", "id"), c.dump(n, "acc", "id"), "no repair echoed back to " + c.name(n));
                assertEquals(0, c.count(n, "SELECT count(*) FROM pgmesh.conflicts"), "no conflict on " + c.name(n));
            }

            // While run applies from east, its origin is taken: the repair says so and changes nothing.
            c.sql(1, DIVERGE + "UPDATE acc SET balance = -7 WHERE id = 30");
            Cli busy = Cli.run("validate", "-c", file.toString(), "--catch-up-timeout", "5", "--repair", "--from",
                    "east");
            assertEquals(1, busy.code(), busy.toString());
            assertTrue(busy.err().contains("pgmesh run is applying to west"), busy.toString());
            assertEquals(-7, c.count(1, "SELECT balance FROM acc WHERE id = 30"));
            runner.close();
        }
    }
}
