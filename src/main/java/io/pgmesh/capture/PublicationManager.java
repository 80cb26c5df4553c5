package io.pgmesh.capture;

import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.ReplicaIdentity;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Keeps the {@code pgmesh} publication of a node equal to the selected tables that have a
 * replica identity. A table without one is never published: PostgreSQL would then refuse the
 * application's UPDATE and DELETE on it.
 */
public final class PublicationManager {

    /** What reconciling found: the tables now published and those left out for lack of a replica identity. */
    public record Result(Set<TableName> published, List<TableName> withoutReplicaIdentity) {
    }

    private static final String CANDIDATES = "SELECT n.nspname, c.relname, " + ReplicaIdentity.HAS_IDENTITY
            + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND " + ReplicaIdentity.IN_USER_SCHEMA;

    private PublicationManager() {
    }

    /** The selected tables of a node, split by whether they have a replica identity; changes nothing. */
    public static Result selected(Connection conn, TableSelection selection) throws SQLException {
        Set<TableName> wanted = new TreeSet<>();
        List<TableName> withoutIdentity = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(CANDIDATES)) {
            while (rs.next()) {
                TableName t = new TableName(rs.getString(1), rs.getString(2));
                if (!selection.matches(t.schema(), t.name())) {
                    continue;
                }
                if (rs.getBoolean(3)) {
                    wanted.add(t);
                } else {
                    withoutIdentity.add(t);
                }
            }
        }
        return new Result(wanted, withoutIdentity);
    }

    public static Result reconcile(Connection conn, TableSelection selection) throws SQLException {
        Result result = selected(conn, selection);
        Set<TableName> wanted = result.published();
        if (!Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ?)", Names.PUBLICATION)) {
            Sql.exec(conn, "CREATE PUBLICATION " + Names.PUBLICATION);
        }
        Set<TableName> current = published(conn);
        for (TableName t : wanted) {
            if (!current.contains(t)) {
                Sql.exec(conn, "ALTER PUBLICATION " + Names.PUBLICATION + " ADD TABLE " + t.quoted());
            }
        }
        for (TableName t : current) {
            if (!wanted.contains(t)) {
                Sql.exec(conn, "ALTER PUBLICATION " + Names.PUBLICATION + " DROP TABLE " + t.quoted());
            }
        }
        return result;
    }

    public static Set<TableName> published(Connection conn) throws SQLException {
        Set<TableName> tables = new TreeSet<>();
        try (var ps = conn.prepareStatement(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ?")) {
            ps.setString(1, Names.PUBLICATION);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableName(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables;
    }
}
