package io.pgmesh.check;

import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** What the mesh file's role may do: replicate, use replication origins, set session_replication_role. */
final class RoleCheck {

    /** rds_replication is how Amazon RDS hands out replication to a role that is not a superuser. */
    private static final String MAY_REPLICATE = """
            SELECT r.rolsuper OR r.rolreplication
                   OR CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
                           THEN pg_has_role(current_user, 'rds_replication', 'MEMBER') ELSE false END
              FROM pg_roles r WHERE r.rolname = current_user
            """;
    /** Every origin function pgmesh calls; by name, so that a signature changed by a release is still found. */
    private static final String ORIGIN_FUNCTIONS_DENIED = """
            SELECT p.oid::regprocedure::text FROM pg_proc p
             WHERE p.proname IN ('pg_replication_origin_create', 'pg_replication_origin_drop',
                                 'pg_replication_origin_oid', 'pg_replication_origin_session_setup',
                                 'pg_replication_origin_session_progress', 'pg_replication_origin_xact_setup',
                                 'pg_replication_origin_advance', 'pg_replication_origin_progress',
                                 'pg_replication_origin_session_reset', 'pg_show_replication_origin_status')
               AND NOT has_function_privilege(p.oid, 'EXECUTE')
             ORDER BY 1
            """;

    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private RoleCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        List<Finding> findings = new ArrayList<>();
        String role = n.node().user();
        if (!mayReplicate(n.conn())) {
            findings.add(Finding.error(n.name(), "role_replication", "role " + role + " may not replicate: it is"
                            + " neither a superuser nor has the REPLICATION attribute",
                    "every task reads its source's changes through a replication connection made as this role",
                    "as a superuser: ALTER ROLE " + Ident.quote(role) + " REPLICATION; on Amazon RDS and Aurora:"
                            + " GRANT rds_replication TO " + Ident.quote(role)));
        }
        List<String> denied = originFunctionsDenied(n.conn());
        // init, status and validate read what each origin has applied through this view.
        boolean viewDenied = !Sql.queryBool(n.conn(), "SELECT has_table_privilege('pg_replication_origin_status', 'SELECT')");
        if (!denied.isEmpty() || viewDenied) {
            List<String> grants = new ArrayList<>();
            if (!denied.isEmpty()) {
                grants.add("GRANT EXECUTE ON FUNCTION " + String.join(", ", denied) + " TO " + Ident.quote(role));
            }
            if (viewDenied) {
                grants.add("GRANT SELECT ON pg_replication_origin_status TO " + Ident.quote(role));
            }
            findings.add(Finding.error(n.name(), "role_origins", "role " + role + " may not use replication origins:"
                            + (denied.isEmpty() ? "" : " no EXECUTE on " + String.join(", ", denied))
                            + (denied.isEmpty() || !viewDenied ? "" : ";")
                            + (viewDenied ? " no SELECT on pg_replication_origin_status" : ""),
                    "pgmesh applies every change under a replication origin: that records progress in the same"
                            + " transaction as the rows (exactly once) and marks them so they do not echo back",
                    "as a superuser: " + String.join("; ", grants)
                            + "; or use a superuser role (on Amazon RDS: one with rds_superuser)"));
        }
        String denial = sessionReplicationRoleDenial(n.conn());
        if (denial != null) {
            findings.add(Finding.error(n.name(), "session_replication_role", "role " + role
                            + " may not set session_replication_role: " + denial,
                    "pgmesh applies changes with session_replication_role = replica, as PostgreSQL's own apply"
                            + " worker does, so that the node's triggers and foreign-key checks do not fire a second"
                            + " time for a replicated row",
                    n.caps().parameterPrivileges()
                            ? "as a superuser: GRANT SET ON PARAMETER session_replication_role TO " + Ident.quote(role)
                            : "use a superuser role (on Amazon RDS: one with rds_superuser); PostgreSQL 15 and later"
                            + " can GRANT SET ON PARAMETER session_replication_role instead"));
        }
        return findings;
    }

    static boolean mayReplicate(Connection conn) throws SQLException {
        return Sql.queryBool(conn, MAY_REPLICATE);
    }

    private static List<String> originFunctionsDenied(Connection conn) throws SQLException {
        List<String> denied = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(ORIGIN_FUNCTIONS_DENIED)) {
            while (rs.next()) {
                denied.add(rs.getString(1));
            }
        }
        return denied;
    }

    /**
     * Tries the SET in a transaction that is rolled back: the server is the one authority on who
     * may set it (superuser, GRANT SET ON PARAMETER, or a managed service's own rules), and
     * SET LOCAL leaves nothing behind.
     *
     * @return why the server refused, or null when it allowed it
     */
    private static String sessionReplicationRoleDenial(Connection conn) throws SQLException {
        boolean autoCommit = conn.getAutoCommit();
        conn.setAutoCommit(false);
        try {
            Sql.exec(conn, "SET LOCAL session_replication_role = replica");
            return null;
        } catch (SQLException e) {
            if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                throw e;
            }
            // The server's own words, without the severity pgjdbc puts in front: the finding has one.
            return Errors.describe(e).replaceFirst("^ERROR: ", "");
        } finally {
            conn.rollback();
            conn.setAutoCommit(autoCommit);
        }
    }
}
