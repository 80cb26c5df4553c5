package io.pgmesh.check;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The role must read and write every table the node replicates: capture, initial load and apply do. */
final class TablePrivilegeCheck {

    private static final int MAX_LISTED = 10;

    private TablePrivilegeCheck() {
    }

    static List<Finding> check(CheckedNode n, Map<TableName, TableInfo> tables) {
        List<String> lacking = new ArrayList<>();
        List<String> grantOn = new ArrayList<>();
        Set<String> schemas = new TreeSet<>();
        Set<String> owners = new TreeSet<>();
        for (TableInfo t : tables.values()) {
            if (!t.replicated() || t.missingPrivileges().isEmpty()) {
                continue;
            }
            lacking.add(t.name() + " (" + String.join(", ", t.missingPrivileges()) + ")");
            grantOn.add(t.name().quoted());
            if (t.missingPrivileges().stream().anyMatch(p -> p.startsWith("USAGE"))) {
                schemas.add(t.name().schema());
            }
            t.missingPrivileges().stream().filter(p -> p.startsWith(TableInfo.OWNER_PREFIX))
                    .forEach(p -> owners.add(p.substring(TableInfo.OWNER_PREFIX.length())));
        }
        if (lacking.isEmpty()) {
            return List.of();
        }
        String role = Ident.quote(n.node().user());
        StringBuilder fix = new StringBuilder("as the tables' owner or a superuser: ");
        for (String schema : schemas) {
            fix.append("GRANT USAGE ON SCHEMA ").append(Ident.quote(schema)).append(" TO ").append(role).append("; ");
        }
        fix.append("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER ON ").append(String.join(", ", grantOn))
                .append(" TO ").append(role);
        for (String owner : owners) {
            fix.append("; GRANT ").append(Ident.quote(owner)).append(" TO ").append(role);
        }
        String listed = String.join(", ", lacking.subList(0, Math.min(MAX_LISTED, lacking.size())))
                + (lacking.size() > MAX_LISTED ? " and " + (lacking.size() - MAX_LISTED) + " more" : "");
        return List.of(Finding.error(n.name(), "table_privileges", "role " + n.node().user() + " lacks privileges on "
                        + lacking.size() + " replicated table" + (lacking.size() == 1 ? "" : "s") + ": " + listed,
                "pgmesh reads these tables to load them, writes every replicated INSERT, UPDATE, DELETE and"
                        + " TRUNCATE into them as this role, adds them to its publication and puts a trigger on each"
                        + " that records deleted keys (the tombstones conflict resolution compares); the last two"
                        + " need the rights of the table's owner",
                fix.toString()));
    }
}
