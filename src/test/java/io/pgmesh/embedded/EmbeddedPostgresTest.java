package io.pgmesh.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EmbeddedPostgresTest {

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void defaultServerIsConfiguredForLogicalReplicationAndSurvivesACrash() throws Exception {
        Path work;
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(EmbeddedPostgres.DEFAULT_VERSION, null,
                Map.of("wal_sender_timeout", "'5s'", "cluster_name", "it's quoted"))) {
            work = pg.dataDir().getParent();
            assertTrue(pg.isRunning());
            assertEquals("17.5.0", pg.version());
            assertEquals(17, pg.majorVersion());
            assertEquals("127.0.0.1", pg.host());
            assertEquals("jdbc:postgresql://127.0.0.1:" + pg.port() + "/db1", pg.jdbcUrl("db1"));
            assertTrue(Files.isRegularFile(pg.dataDir().resolve("server.log")));

            try (Connection c = pg.connect("postgres")) {
                assertEquals("logical", show(c, "wal_level"));
                assertEquals("on", show(c, "track_commit_timestamp"));
                assertEquals("5s", show(c, "wal_sender_timeout"));
                assertEquals("it's quoted", show(c, "cluster_name"));
                assertEquals("off", show(c, "fsync"));
                assertEquals("32", show(c, "max_replication_slots"));
                assertEquals("200", show(c, "max_connections"));
                assertEquals("127.0.0.1", show(c, "listen_addresses"));
                assertEquals("UTF8", show(c, "server_encoding"));
                assertTrue(show(c, "server_version_num").startsWith("17"));
            }

            pg.createDatabase("db1");
            try (Connection c = pg.connect("db1"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
                st.execute("INSERT INTO t VALUES (1, 'hello')");
                assertEquals("hello", queryOne(c, "SELECT v FROM t WHERE id = 1"));
            }

            int port = pg.port();
            pg.stopImmediately();
            assertFalse(pg.isRunning());
            assertThrows(SQLException.class, () -> pg.connect("db1").close());

            pg.restart();
            assertTrue(pg.isRunning());
            assertEquals(port, pg.port());
            try (Connection c = pg.connect("db1")) {
                assertEquals("hello", queryOne(c, "SELECT v FROM t WHERE id = 1"));
            }

            pg.stop();
            assertFalse(pg.isRunning());
            pg.restart();
            try (Connection c = pg.connect("db1")) {
                assertEquals("hello", queryOne(c, "SELECT v FROM t WHERE id = 1"));
            }
        }
        assertFalse(Files.exists(work), "close() deletes the work dir");
    }

    @ParameterizedTest
    @ValueSource(strings = {"15.13.0", "18.1.0"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void otherVersionsStart(String version, @TempDir Path tmp) throws Exception {
        Path work = tmp.resolve("node");
        Path data;
        try (EmbeddedPostgres pg = EmbeddedPostgres.start(version, work, Map.of())) {
            data = pg.dataDir();
            int major = Integer.parseInt(version.substring(0, version.indexOf('.')));
            assertEquals(major, pg.majorVersion());
            try (Connection c = pg.connect("postgres")) {
                int num = Integer.parseInt(show(c, "server_version_num"));
                assertEquals(major, num / 10000);
                assertEquals("logical", show(c, "wal_level"));
            }
        }
        assertFalse(Files.exists(work));
        assertFalse(Files.exists(data), "close() deletes the data dir, wherever it was put");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void twoServersAtOnceGetDifferentPorts() throws Exception {
        try (EmbeddedPostgres a = EmbeddedPostgres.start();
             EmbeddedPostgres b = EmbeddedPostgres.start()) {
            assertNotEquals(a.port(), b.port());
            assertNotEquals(a.dataDir(), b.dataDir());
            try (Connection ca = a.connect("postgres"); Connection cb = b.connect("postgres")) {
                assertEquals("1", queryOne(ca, "SELECT 1"));
                assertEquals("1", queryOne(cb, "SELECT 1"));
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void retriesWithAnotherPortWhenTheChosenOneIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            EmbeddedPostgres.PORTS_TO_TRY_FIRST.add(taken.getLocalPort());
            try (EmbeddedPostgres pg = EmbeddedPostgres.start()) {
                assertNotEquals(taken.getLocalPort(), pg.port());
                try (Connection c = pg.connect("postgres")) {
                    assertEquals("1", queryOne(c, "SELECT 1"));
                }
            } finally {
                EmbeddedPostgres.PORTS_TO_TRY_FIRST.clear();
            }
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void missingVersionFailsClearly() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EmbeddedPostgres.start("9.99.0", null, Map.of()));
        assertTrue(e.getMessage().contains("9.99.0"), e.getMessage());
        assertTrue(e.getMessage().contains("pg-dist"), e.getMessage());
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void badSettingFailsWithServerLogInMessage() {
        Exception e = assertThrows(Exception.class,
                () -> EmbeddedPostgres.start(EmbeddedPostgres.DEFAULT_VERSION, null,
                        Map.of("shared_buffers", "not-a-size")));
        assertTrue(e.getMessage().contains("shared_buffers"), e.getMessage());
    }

    private static String show(Connection c, String setting) throws SQLException {
        return queryOne(c, "SHOW " + setting);
    }

    private static String queryOne(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
