package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.Secret;
import io.pgmesh.config.TlsFiles;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS as a user sets it up: a CA of their own, a server certificate for a host name, the CA file
 * named in the mesh file. verify-full connects; a name the certificate lacks and a server without
 * TLS fail with a line that says why. Certificates come from the openssl command line.
 */
@Timeout(120)
class TlsIT {

    private static void openssl(Path dir, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "openssl " + String.join(" ", args) + ":\n" + out);
    }

    /** A node of {@code c} as the mesh file would name it. */
    private static NodeConfig node(PgCluster c, int i, String host, String sslmode, TlsFiles tls) {
        return new NodeConfig(c.name(i), host, c.server(i).port(), PgCluster.DB, "postgres", Secret.NONE, sslmode, tls);
    }

    @Test
    void verifyFullConnectsAndEveryMismatchFailsClearly(@TempDir Path dir) throws Exception {
        openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                "-days", "2", "-subj", "/CN=pgmesh test CA");
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                "-subj", "/CN=localhost");
        Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost\n");
        openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "san.ext");
        try (PgCluster c = PgCluster.start(2)) {
            // The server reads its key and certificate from its data directory, owned by its own account.
            Path data = c.server(0).dataDir();
            for (String f : List.of("server.crt", "server.key")) {
                Files.copy(dir.resolve(f), data.resolve(f));
                Process chown = new ProcessBuilder("chown", "--reference=" + data, data.resolve(f).toString()).start();
                assertEquals(0, chown.waitFor(), "chown " + f);
            }
            Files.setPosixFilePermissions(data.resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            c.sql(0, "ALTER SYSTEM SET ssl = on");
            c.sql(0, "SELECT pg_reload_conf()");
            Thread.sleep(500);

            TlsFiles ca = new TlsFiles(dir.resolve("ca.crt").toString(), null, null);
            try (Connection conn = PgConnector.connect(node(c, 0, "localhost", "verify-full", ca), "test")) {
                assertEquals("true", Sql.queryString(conn,
                        "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()").orElseThrow(),
                        "the session is encrypted");
            }

            SQLException wrongHost = assertThrows(SQLException.class,
                    () -> PgConnector.connect(node(c, 0, "127.0.0.1", "verify-full", ca), "test").close());
            assertTrue(Errors.describe(wrongHost).contains("does not name the host"), Errors.describe(wrongHost));

            Path otherCa = Files.createDirectory(dir.resolve("other"));
            openssl(otherCa, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                    "-days", "2", "-subj", "/CN=someone else");
            SQLException wrongCa = assertThrows(SQLException.class, () -> PgConnector.connect(node(c, 0, "localhost",
                    "verify-ca", new TlsFiles(otherCa.resolve("ca.crt").toString(), null, null)), "test").close());
            assertTrue(Errors.describe(wrongCa).contains("not signed by a CA in sslrootcert"), Errors.describe(wrongCa));

            SQLException noTls = assertThrows(SQLException.class,
                    () -> PgConnector.connect(node(c, 1, "127.0.0.1", "require", TlsFiles.DEFAULTS), "test").close());
            assertTrue(Errors.describe(noTls).contains("turn ssl on"), Errors.describe(noTls));
        }
    }
}
