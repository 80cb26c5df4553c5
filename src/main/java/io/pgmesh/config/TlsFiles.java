package io.pgmesh.config;

/**
 * The files TLS needs beyond {@code sslmode}, as libpq names them; each is a path or null for
 * the driver's default ({@code ~/.postgresql/root.crt} and so on).
 *
 * @param rootCert sslrootcert: the CA certificates that verify-ca and verify-full check the server against
 * @param cert     sslcert: the client certificate, for servers that ask for one
 * @param key      sslkey: its private key (PKCS-8 DER, or a PKCS-12 file, as PgJDBC reads them)
 */
public record TlsFiles(String rootCert, String cert, String key) {
    public static final TlsFiles DEFAULTS = new TlsFiles(null, null, null);
}
