package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.task.MeshRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole life of a two-node mesh as a role that is not a superuser, with only the grants
 * docs/CONFIGURATION.md lists ("Least privilege"): check names exactly what is missing, then check, init, run with conflicts,
 * validate, ids partition and teardown all work.
 */
@Timeout(240)
class LeastPrivilegeIT {
    /** What a superuser (or the database owner) grants, as docs/CONFIGURATION.md lists it. */
    private static final String GRANTS = """
            GRANT CREATE ON DATABASE app TO mesh;
            GRANT CREATE ON SCHEMA public TO mesh;
            GRANT SET ON PARAMETER session_replication_role TO mesh;
            GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_drop(text),
                pg_replication_origin_oid(text), pg_replication_origin_session_setup(text),
                pg_replication_origin_session_reset(), pg_replication_origin_session_progress(boolean),
                pg_replication_origin_xact_setup(pg_lsn, timestamptz), pg_replication_origin_advance(text, pg_lsn),
                pg_replication_origin_progress(text, boolean), pg_show_replication_origin_status() TO mesh;
            GRANT SELECT ON pg_replication_origin_status TO mesh;
            """;

    private static Path meshFile(PgCluster c, Path dir) throws Exception {
        StringBuilder y = new StringBuilder("nodes:\n");
        for (int i = 0; i < 2; i++) {
            y.append("  - {name: ").append(c.name(i)).append(", host: 127.0.0.1, port: ").append(c.server(i).port())
                    .append(", database: app, user: mesh, sslmode: disable}\n");
        }
        y.append("initial-load:\n  from: east\ntables:\n  include: [\"public.*\", \"shop.*\"]\n");
        Path file = dir.resolve("mesh.yaml");
        Files.writeString(file, y.toString());
        return file;
    }

    private static Set<String> errorCodes(String checkJson) throws Exception {
        Set<String> codes = new TreeSet<>();
        for (var f : new com.fasterxml.jackson.databind.ObjectMapper().readTree(checkJson)) {
            if (f.get("severity").asText().equalsIgnoreCase("error")) {
                codes.add(f.get("node").asText() + ":" + f.get("code").asText());
            }
        }
        return codes;
    }

    @Test
    void aRoleWithTheListedGrantsRunsTheWholeLifeOfAMesh(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("CREATE ROLE mesh LOGIN REPLICATION");
            c.sql(0, """
                    CREATE SCHEMA shop AUTHORIZATION mesh;
                    CREATE TABLE notes (id int PRIMARY KEY, body text);
                    ALTER TABLE notes OWNER TO mesh;
                    INSERT INTO notes VALUES (1, 'kept');
                    SET ROLE mesh;
                    CREATE TABLE shop.accounts (id bigserial PRIMARY KEY, balance int NOT NULL);
                    INSERT INTO shop.accounts (balance) SELECT g FROM generate_series(1, 1000) g;
                    RESET ROLE;
                    """);
            c.sql(1, "CREATE SCHEMA shop AUTHORIZATION mesh");
            Path file = meshFile(c, dir);

            Cli before = Cli.run("check", "-c", file.toString(), "--json");
            assertEquals(1, before.code(), before.toString());
            assertEquals(Set.of("east:role_origins", "east:session_replication_role", "east:create_schema",
                            "west:role_origins", "west:session_replication_role", "west:create_schema",
                            "west:create_table"),
                    errorCodes(before.out()), "check names exactly what the role lacks: " + before.out());

            c.sqlAll(GRANTS);
            Cli after = Cli.run("check", "-c", file.toString(), "--json");
            assertEquals(0, after.code(), after.toString());

            Cli init = Cli.run("init", "-c", file.toString());
            assertEquals(0, init.code(), init.toString());
            assertTrue(init.out().contains("initial load east -> west done: 2 table(s), 1,001 rows"), init.toString());

            MeshConfig mesh = new MeshConfig(c.config().nodes().stream().map(n -> new NodeConfig(n.name(), n.host(),
                    n.port(), n.database(), "mesh", n.password(), n.sslmode())).toList(),
                    new TableSelection(List.of("public.*", "shop.*"), List.of()), "east");
            // The same rows changed on both nodes before run starts: conflicts, resolved the same way everywhere.
            c.sql(0, "UPDATE shop.accounts SET balance = balance + 1 WHERE id <= 20");
            c.sql(1, "UPDATE shop.accounts SET balance = balance - 1 WHERE id <= 20");
            c.sql(1, "DELETE FROM shop.accounts WHERE id = 100");
            c.sql(0, "UPDATE shop.accounts SET balance = 0 WHERE id = 100");
            MeshRunner runner = c.track(new MeshRunner(mesh, PgCluster.testRetry()));
            runner.start();
            PgCluster.awaitStreaming(runner, Duration.ofSeconds(60));
            c.awaitSettled(Duration.ofSeconds(60));
            assertEquals(PgCluster.notStreaming(runner), List.of(), "every task streams");
            assertEquals(c.dump(0, "shop.accounts", "id"), c.dump(1, "shop.accounts", "id"));
            assertTrue(c.count(0, "SELECT count(*) FROM pgmesh.conflicts") + c.count(1, "SELECT count(*) FROM pgmesh.conflicts")
                    >= 20, "the concurrent changes were conflicts, logged as the role");

            Cli validate = Cli.run("validate", "-c", file.toString());
            assertEquals(0, validate.code(), validate.toString());
            Cli ids = Cli.run("ids", "partition", "-c", file.toString());
            assertEquals(0, ids.code(), ids.toString());
            runner.close();

            Cli teardown = Cli.run("teardown", "-c", file.toString());
            assertEquals(0, teardown.code(), teardown.toString());
            for (int n = 0; n < 2; n++) {
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_slots"), "no slot left");
                assertEquals(0, c.count(n, "SELECT count(*) FROM pg_replication_origin"), "no origin left");
            }
        }
    }
}
