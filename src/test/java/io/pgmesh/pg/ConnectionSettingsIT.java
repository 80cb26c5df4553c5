package io.pgmesh.pg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.sql.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The mesh file's database name is a name, never connection parameters. */
@Timeout(60)
class ConnectionSettingsIT {

    @Test
    void aDatabaseNameThatLooksLikeUrlParametersIsJustAName() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(EmbeddedPostgres.DEFAULT_VERSION,
                Files.createTempDirectory("pgmesh-it-"), null)) {
            String odd = "app?sslmode=require&user=nobody x+y";
            try (Connection c = pg.connect("postgres")) {
                Sql.exec(c, "CREATE DATABASE " + Ident.quote(odd));
            }
            NodeConfig node = new NodeConfig("east", "127.0.0.1", pg.port(), odd, "postgres", Secret.NONE, "disable");
            try (Connection c = PgConnector.connect(node, "test")) {
                assertEquals(odd, Sql.queryString(c, "SELECT current_database()").orElseThrow(),
                        "connected to the database of that name, not to app with sslmode=require as user nobody");
                assertEquals("postgres", Sql.queryString(c, "SELECT current_user").orElseThrow());
            }
            assertEquals("jdbc:postgresql://127.0.0.1:" + pg.port() + "/app%3Fsslmode%3Drequire%26user%3Dnobody+x%2By",
                    PgConnector.url(node));
        }
    }
}
