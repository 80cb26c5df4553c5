package io.pgmesh.pg;

import java.sql.SQLException;

/** One line that says what went wrong, for logs and the CLI; never a stack trace. */
public final class Errors {
    private Errors() {
    }

    public static String describe(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c && !(c instanceof SQLException)) {
            c = c.getCause();
        }
        String msg = c.getMessage();
        if (msg == null || msg.isBlank()) {
            // A bug, not a condition of the databases: say where, so the report can be acted on.
            StackTraceElement[] at = c.getStackTrace();
            msg = c.getClass().getSimpleName() + (at.length == 0 ? "" : " at " + at[0]);
        }
        // Server errors come with a multi-line "Detail/Hint/Where"; the first line names the problem.
        int nl = msg.indexOf('\n');
        String line = nl < 0 ? msg : msg.substring(0, nl);
        if (c instanceof SQLException se && se.getSQLState() != null && !line.contains(se.getSQLState())) {
            line = line + " [SQLSTATE " + se.getSQLState() + "]";
        }
        if (line.contains("could not be verified by hostnameverifier")) {
            line = line + "; the server's certificate does not name the host pgmesh connects to (sslmode"
                    + " verify-full): use a host name the certificate holds, or sslmode verify-ca";
        } else if (line.contains("The server does not support SSL")) {
            line = line + "; the node's sslmode asks for TLS: turn ssl on in the server's postgresql.conf, or lower"
                    + " sslmode (prefer, disable) if the network is trusted";
        } else if (line.contains("PKIX path") || line.contains("unable to find valid certification path")) {
            line = line + "; the server's certificate is not signed by a CA in sslrootcert: name the right CA file";
        }
        if (line.contains("row-level security")) {
            line = line + "; pgmesh reads and writes every row or none: give its role BYPASSRLS, or run it as the"
                    + " table's owner without FORCE ROW LEVEL SECURITY (pgmesh check lists such tables)";
        }
        return line.strip();
    }
}
