package io.pgmesh.config;

import java.util.Objects;

/**
 * One node of the mesh: a PostgreSQL database and how to reach it.
 *
 * <p>{@code password} is a {@link Secret}, so the record's {@code toString()} shows
 * {@code password=****} or {@code password=(none)}, never the password.
 *
 * @param name     the node's name in the mesh, {@code [a-z][a-z0-9_]{0,15}}; used in slot and origin names
 * @param host     host name or address
 * @param port     TCP port, 1..65535
 * @param database database name
 * @param user     user name
 * @param password the password, or {@link Secret#NONE}
 * @param sslmode  libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full
 * @param tls      sslrootcert, sslcert and sslkey
 */
public record NodeConfig(String name, String host, int port, String database, String user,
                         Secret password, String sslmode, TlsFiles tls) {

    /** A node with the driver's default TLS files. */
    public NodeConfig(String name, String host, int port, String database, String user, Secret password,
                      String sslmode) {
        this(name, host, port, database, user, password, sslmode, TlsFiles.DEFAULTS);
    }

    public NodeConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password (use Secret.NONE for none)");
        Objects.requireNonNull(sslmode, "sslmode");
        Objects.requireNonNull(tls, "tls");
    }
}
