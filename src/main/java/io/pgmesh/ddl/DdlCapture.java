package io.pgmesh.ddl;

import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.SqlStates;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Installs the DDL capture of a node ({@code capture.sql}): the functions that adopt new tables and
 * send schema changes, the mesh file's table selection they read, and the two event triggers.
 * Creating an event trigger takes a superuser ({@code rds_superuser} on RDS); without one the
 * functions are still installed (tombstones need them) and the caller is told why capture is off.
 */
public final class DdlCapture {
    public static final String COMMAND_END_TRIGGER = "pgmesh_ddl_command_end";
    public static final String DROP_TRIGGER = "pgmesh_sql_drop";
    private static final String FUNCTIONS = resource("capture.sql");
    /** Tells an installed copy of {@link #FUNCTIONS} from another: the script's own hash. */
    private static final String VERSION = "pgmesh capture " + Integer.toHexString(FUNCTIONS.hashCode());
    private static final String TRIGGERS = """
            DROP EVENT TRIGGER IF EXISTS %1$s;
            CREATE EVENT TRIGGER %1$s ON ddl_command_end EXECUTE FUNCTION pgmesh.on_ddl_command_end();
            ALTER EVENT TRIGGER %1$s ENABLE ALWAYS;
            DROP EVENT TRIGGER IF EXISTS %2$s;
            CREATE EVENT TRIGGER %2$s ON sql_drop EXECUTE FUNCTION pgmesh.on_sql_drop();
            ALTER EVENT TRIGGER %2$s ENABLE ALWAYS""".formatted(COMMAND_END_TRIGGER, DROP_TRIGGER);

    private DdlCapture() {
    }

    /**
     * The functions and tables only; what tombstones need. Skipped when this version is there
     * already: the role of a later {@code run} may not own the functions {@code init} created.
     */
    public static void installFunctions(Connection conn) throws SQLException {
        if (Sql.queryBool(conn, "SELECT coalesce(obj_description(to_regprocedure('pgmesh.on_sql_drop()'), 'pg_proc') = ?,"
                + " false)", VERSION)) {
            return;
        }
        Sql.exec(conn, FUNCTIONS);
        Sql.exec(conn, "COMMENT ON FUNCTION pgmesh.on_sql_drop() IS " + io.pgmesh.pg.Ident.literal(VERSION));
    }

    /**
     * Installs or refreshes everything, in one transaction. Returns why the event triggers could
     * not be installed, if they could not; what was there stays.
     */
    public static Optional<String> install(Connection conn, TableSelection tables, boolean replicate) throws SQLException {
        boolean autoCommit = conn.getAutoCommit();
        conn.setAutoCommit(false);
        try {
            installFunctions(conn);
            try (PreparedStatement ps = conn.prepareStatement("""
                    INSERT INTO pgmesh.ddl_capture (replicate, include_tables, exclude_tables, schemas)
                    VALUES (?, ?, ?, ?)
                    ON CONFLICT (only_row) DO UPDATE SET replicate = EXCLUDED.replicate,
                        include_tables = EXCLUDED.include_tables, exclude_tables = EXCLUDED.exclude_tables,
                        schemas = EXCLUDED.schemas""")) {
                ps.setBoolean(1, replicate);
                ps.setArray(2, conn.createArrayOf("text", tables.includeLike().toArray()));
                ps.setArray(3, conn.createArrayOf("text", tables.excludeLike().toArray()));
                ps.setArray(4, conn.createArrayOf("text", tables.schemaLike().toArray()));
                ps.executeUpdate();
            }
            Sql.exec(conn, "SAVEPOINT triggers");
            Optional<String> refused = Optional.empty();
            if (!installed(conn)) {
                try {
                    Sql.exec(conn, TRIGGERS);
                } catch (SQLException e) {
                    if (!SqlStates.INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                        throw e;
                    }
                    Sql.exec(conn, "ROLLBACK TO SAVEPOINT triggers");
                    refused = Optional.of("creating event triggers takes a superuser (rds_superuser on RDS), and "
                            + Sql.queryString(conn, "SELECT current_user").orElse("this role") + " is not one");
                }
            }
            conn.commit();
            return refused;
        } catch (SQLException | RuntimeException e) {
            conn.rollback();
            throw e;
        } finally {
            conn.setAutoCommit(autoCommit);
        }
    }

    /** Both event triggers are there and fire in every session. */
    public static boolean installed(Connection conn) throws SQLException {
        return Sql.queryBool(conn, "SELECT count(*) = 2 FROM pg_event_trigger WHERE evtname IN (?, ?) AND evtenabled = 'A'",
                COMMAND_END_TRIGGER, DROP_TRIGGER);
    }

    /** Drops the event triggers; true when there were any. */
    public static boolean remove(Connection conn) throws SQLException {
        boolean any = Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname IN (?, ?))",
                COMMAND_END_TRIGGER, DROP_TRIGGER);
        Sql.exec(conn, "DROP EVENT TRIGGER IF EXISTS " + COMMAND_END_TRIGGER + "; DROP EVENT TRIGGER IF EXISTS " + DROP_TRIGGER);
        return any;
    }

    private static String resource(String name) {
        try (InputStream in = DdlCapture.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name + " next to " + DdlCapture.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
