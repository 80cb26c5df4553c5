package io.pgmesh.check;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.TableName;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Row-level security must not apply to pgmesh's role on a replicated table: its policies would
 * show the load, validate and apply only some of the rows, and the rest would be silently left
 * out. pgmesh turns {@code row_security} off in its sessions, so such a table makes them fail
 * rather than filter; this check says so before init starts.
 */
final class RowSecurityCheck {

    private RowSecurityCheck() {
    }

    static List<Finding> check(CheckedNode n, Map<TableName, TableInfo> tables) throws SQLException {
        // As PostgreSQL decides it: superusers and BYPASSRLS roles skip policies, and so does the
        // table's owner (or a member with its privileges) unless the table forces them.
        List<String> filtered = new ArrayList<>();
        try (PreparedStatement ps = n.conn().prepareStatement("""
                SELECT s.nspname, c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                 WHERE c.relrowsecurity AND c.relkind IN ('r', 'p')
                   AND NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
                   AND (c.relforcerowsecurity OR NOT pg_has_role(current_user, c.relowner, 'USAGE'))
                 ORDER BY 1, 2""");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                TableName t = new TableName(rs.getString(1), rs.getString(2));
                TableInfo info = tables.get(t);
                if (info != null && info.replicated()) {
                    filtered.add(t.toString());
                }
            }
        }
        if (filtered.isEmpty()) {
            return List.of();
        }
        return List.of(Finding.error(n.name(), "row_security", "row-level security policies apply to role "
                        + n.node().user() + " on " + String.join(", ", filtered),
                "the initial load, validate and apply would see only the rows the policies show and silently"
                        + " leave out the rest; pgmesh's sessions run with row_security off, so they fail on these"
                        + " tables instead",
                "as a superuser: ALTER ROLE " + Ident.quote(n.node().user()) + " BYPASSRLS; or run pgmesh as"
                        + " the tables' owner and ALTER TABLE ... NO FORCE ROW LEVEL SECURITY"));
    }
}
