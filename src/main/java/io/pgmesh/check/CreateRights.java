package io.pgmesh.check;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Where the role may create: init creates the schema {@code pgmesh} on every node, and on a node
 * it loads, the tables (and their schemas) that node lacks. Since PostgreSQL 15 PUBLIC has no
 * CREATE on schema {@code public}, so a role that owns nothing there cannot.
 *
 * @param onDatabase the role may create schemas in the database
 * @param existing   the schemas of the database
 * @param creatable  the schemas the role may create objects in
 */
record CreateRights(boolean onDatabase, Set<String> existing, Set<String> creatable) {

    static CreateRights read(Connection conn) throws SQLException {
        boolean db = Sql.queryBool(conn, "SELECT has_database_privilege(current_database(), 'CREATE')");
        Set<String> existing = new HashSet<>(Sql.queryColumn(conn, "SELECT nspname FROM pg_namespace"));
        Set<String> creatable = new HashSet<>(Sql.queryColumn(conn,
                "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(oid, 'CREATE')"));
        return new CreateRights(db, existing, creatable);
    }

    /** Why a table cannot be created in {@code schema} by this role, with the grant that fixes it; empty when it can. */
    Optional<String> deniedIn(String schema, String role) {
        if (creatable.contains(schema) || !existing.contains(schema) && onDatabase) {
            return Optional.empty();
        }
        if (existing.contains(schema)) {
            return Optional.of("GRANT CREATE ON SCHEMA " + Ident.quote(schema) + " TO " + Ident.quote(role));
        }
        // The schema is missing, so init creates it: that takes CREATE on the database.
        return Optional.of("GRANT CREATE ON DATABASE <database> TO " + Ident.quote(role));
    }
}
