package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.check.Finding;
import io.pgmesh.check.Preflight;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.validate.ValidateOptions;
import io.pgmesh.validate.Validator;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Row-level security never makes pgmesh see a subset of a table: a role that policies apply to
 * gets an error that says what to do, and check names the table first.
 */
@Timeout(120)
class RowSecurityIT {

    @Test
    void policiesThatWouldHideRowsMakeReadsFailAndCheckNamesTheTable() throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            c.sqlAll("""
                    CREATE ROLE mesh LOGIN REPLICATION;
                    CREATE TABLE t (id int PRIMARY KEY, tenant int NOT NULL);
                    ALTER TABLE t OWNER TO mesh;
                    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
                    ALTER TABLE t FORCE ROW LEVEL SECURITY;
                    CREATE POLICY only_tenant_one ON t USING (tenant = 1);
                    CREATE PUBLICATION pgmesh FOR TABLE t;
                    """);
            c.sql(0, "INSERT INTO t SELECT g, g % 4 FROM generate_series(1, 400) g");
            // west holds exactly what the policy shows of east: a filtered comparison would say identical.
            c.sql(1, "INSERT INTO t SELECT g, g % 4 FROM generate_series(1, 400) g WHERE g % 4 = 1");
            MeshConfig asMesh = new MeshConfig(c.config().nodes().stream().map(n -> new NodeConfig(n.name(), n.host(),
                    n.port(), n.database(), "mesh", n.password(), n.sslmode())).toList(), TableSelection.defaults());

            try (Connection conn = PgConnector.connect(asMesh.nodes().get(0), "test"); Statement st = conn.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT count(*) FROM t"));
                assertTrue(Errors.describe(e).contains("row-level security") && Errors.describe(e).contains("BYPASSRLS"),
                        Errors.describe(e));
            }

            List<Finding> findings = Preflight.run(asMesh);
            List<Finding> rls = findings.stream().filter(f -> f.code().equals("row_security")).toList();
            assertEquals(2, rls.size(), "one finding per node: " + findings);
            assertTrue(rls.get(0).what().contains("public.t") && rls.get(0).isError(), rls.get(0).toString());
            assertTrue(rls.get(0).fix().contains("ALTER ROLE \"mesh\" BYPASSRLS"), rls.get(0).fix());

            Exception failed = assertThrows(Exception.class, () -> Validator.run(asMesh, ValidateOptions.defaults()),
                    "validate must not compare the 100 rows the policy shows and call the nodes identical");
            assertTrue(Errors.describe(failed).contains("row-level security"), Errors.describe(failed));

            c.sqlAll("ALTER ROLE mesh BYPASSRLS");
            assertTrue(Preflight.run(asMesh).stream().noneMatch(f -> f.code().equals("row_security")),
                    "with BYPASSRLS nothing is filtered");
            assertTrue(!Validator.run(asMesh, ValidateOptions.defaults()).identical(),
                    "validate sees every row and finds the 300 west lacks");
        }
    }
}
