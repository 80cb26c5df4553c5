package io.pgmesh.pg;

import io.pgmesh.config.NodeConfig;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.postgresql.PGProperty;

/**
 * Opens connections to a node. The password goes only into the driver's properties, never into
 * the URL, so it cannot leak through an exception message that quotes the URL.
 */
public final class PgConnector {
    private static final int CONNECT_TIMEOUT_SECONDS = 10;
    /**
     * How long a connection may take to log in, all of it: a host that accepts the TCP connection
     * but never answers (a frozen server, whose kernel still completes the handshake) would
     * otherwise hold the caller for as long as TCP keeps the connection.
     */
    private static final int LOGIN_TIMEOUT_SECONDS = 15;

    /** The bound on one statement's answer for the connections of {@code run}: a frozen node must not hold a task for hours. */
    public static final Duration RUN_STATEMENT_BOUND = Duration.ofSeconds(60);

    private PgConnector() {
    }

    /** An ordinary connection, autocommit on, for catalog work. */
    public static Connection connect(NodeConfig node, String purpose) throws SQLException {
        return open(node, baseProperties(node, purpose));
    }

    /**
     * An ordinary connection whose every answer must come within {@code bound}: past it the
     * driver closes the connection and the caller gets an error (SQLSTATE 08006), instead of
     * waiting on a node that stopped answering. Not for statements that may rightly run long.
     */
    public static Connection connect(NodeConfig node, String purpose, Duration bound) throws SQLException {
        Properties props = baseProperties(node, purpose);
        PGProperty.SOCKET_TIMEOUT.set(props, (int) Math.max(1, bound.toSeconds()));
        return open(node, props);
    }

    /**
     * A connection for an applier: simple query protocol, so that a batch of heterogeneous
     * statements (EXECUTEs of server-side prepared statements) travels in one round trip. Its
     * statements are bounded twice: the server cancels one that runs past the bound (a lock held
     * by an application session, say), and the driver gives up on a server that stops answering
     * altogether a little later. Either way the task retries.
     */
    public static Connection connectApply(NodeConfig node, String purpose, Duration bound) throws SQLException {
        Properties props = baseProperties(node, purpose);
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.SOCKET_TIMEOUT.set(props, (int) bound.toSeconds() + 10);
        Connection conn = open(node, props);
        try (Statement st = conn.createStatement()) {
            // A SET, not a startup option: connection poolers refuse startup options they do not know.
            st.execute("SET statement_timeout = " + bound.toMillis());
        } catch (SQLException e) {
            conn.close();
            throw e;
        }
        return conn;
    }

    private static Connection open(NodeConfig node, Properties props) throws SQLException {
        Connection conn = DriverManager.getConnection(url(node), props);
        try (Statement st = conn.createStatement()) {
            // Literals rendered by Ident.literal and ExecuteCall rely on this. Row-level security
            // must never filter what pgmesh reads or changes: with it off, a query that policies
            // would filter fails instead (superusers and BYPASSRLS roles are not affected).
            // A schema change pgmesh makes itself (init copying a schema, an applied change, pgmesh
            // ddl on every node) must never be captured and sent again (io/pgmesh/ddl/capture.sql).
            st.execute("SET standard_conforming_strings = on; SET row_security = off; SET pgmesh.ddl_capture = off");
        }
        return conn;
    }

    /** A walsender connection in database mode, for one task's change stream. */
    public static Connection connectReplication(NodeConfig node, String purpose) throws SQLException {
        Properties props = baseProperties(node, purpose);
        PGProperty.REPLICATION.set(props, "database");
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "9.4");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        return DriverManager.getConnection(url(node), props);
    }

    private static Properties baseProperties(NodeConfig node, String purpose) {
        Properties props = new Properties();
        PGProperty.USER.set(props, node.user());
        if (node.password().isPresent()) {
            PGProperty.PASSWORD.set(props, node.password().reveal());
        }
        PGProperty.SSL_MODE.set(props, node.sslmode());
        if (node.tls().rootCert() != null) {
            PGProperty.SSL_ROOT_CERT.set(props, node.tls().rootCert());
        }
        if (node.tls().cert() != null) {
            PGProperty.SSL_CERT.set(props, node.tls().cert());
        }
        if (node.tls().key() != null) {
            PGProperty.SSL_KEY.set(props, node.tls().key());
        }
        PGProperty.APPLICATION_NAME.set(props, "pgmesh " + purpose);
        PGProperty.CONNECT_TIMEOUT.set(props, CONNECT_TIMEOUT_SECONDS);
        PGProperty.LOGIN_TIMEOUT.set(props, LOGIN_TIMEOUT_SECONDS);
        PGProperty.TCP_KEEP_ALIVE.set(props, true);
        return props;
    }

    /**
     * The URL names only the server and the database, and the database name is encoded: pasted
     * as it is, a name like {@code app?sslmode=disable} would set connection parameters (and
     * could turn TLS off). Every parameter travels as a property.
     */
    static String url(NodeConfig node) {
        String host = node.host().contains(":") ? "[" + node.host() + "]" : node.host();
        return "jdbc:postgresql://" + host + ":" + node.port() + "/"
                + java.net.URLEncoder.encode(node.database(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** "east (127.0.0.1:5432/app)": how a node is named in messages. */
    public static String describe(NodeConfig node) {
        return node.name() + " (" + node.host() + ":" + node.port() + "/" + node.database() + ")";
    }
}
