package io.pgmesh.setup;

import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Removes everything pgmesh created on every node (slots, publication, origins, the {@code pgmesh}
 * schema) and says how much WAL the slots held. User tables and rows are never touched.
 *
 * <p>Only this mesh's objects: slots and replication origins belong to the whole server, and
 * another mesh may run on another database of the same servers. So slots are dropped only in
 * the mesh's database, origins only under the names this mesh gives them (one per other node),
 * and sessions are counted and ended only in the mesh's database.
 */
public final class Teardown {
    private static final String SESSIONS = """
            SELECT pid, application_name FROM pg_stat_activity
             WHERE application_name LIKE 'pgmesh %' AND pid <> pg_backend_pid()
               AND application_name NOT LIKE 'pgmesh teardown%' AND datname = current_database()""";

    private final MeshConfig config;
    private final PrintWriter out;

    public Teardown(MeshConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    /**
     * Tears the mesh down. Without {@code force} it refuses, changing nothing, while pgmesh sessions
     * are connected to any node (a running {@code run} would recreate what is removed). Returns
     * false when it refused or a node could not be reached.
     */
    public boolean run(boolean force) throws SQLException, InterruptedException {
        Map<NodeConfig, Connection> conns = new LinkedHashMap<>();
        boolean allReached = true;
        try {
            for (NodeConfig n : config.nodes()) {
                try {
                    conns.put(n, PgConnector.connect(n, "teardown"));
                } catch (SQLException e) {
                    allReached = false;
                    out.println(n.name() + ": cannot connect to " + PgConnector.describe(n) + " (" + e.getMessage()
                            + "); its pgmesh objects stay: run teardown again when it is reachable");
                }
            }
            List<String> busy = new ArrayList<>();
            for (var e : conns.entrySet()) {
                for (String s : sessions(e.getValue())) {
                    busy.add(e.getKey().name() + ": " + s);
                }
            }
            if (!busy.isEmpty() && !force) {
                out.println("refused: pgmesh is still connected to the mesh (stop pgmesh run first, or use --force):");
                busy.forEach(b -> out.println("  " + b));
                out.println("nothing was removed");
                out.flush();
                return false;
            }
            for (var e : conns.entrySet()) {
                if (force) {
                    endSessions(e.getValue());
                }
                removeFrom(e.getKey(), e.getValue());
            }
            if (force && !busy.isEmpty()) {
                out.println("note: if pgmesh run is still running somewhere it will set the mesh up again; stop it");
            }
            out.flush();
            return allReached;
        } finally {
            for (Connection c : conns.values()) {
                c.close();
            }
        }
    }

    /**
     * What still needs pgmesh's ID functions: column defaults or other objects that call them, or
     * blocks handed out by id_block (dropping its table would hand the same numbers out again).
     */
    private static List<String> idFunctionUsers(Connection conn) throws SQLException {
        List<String> users = new ArrayList<>();
        try (java.sql.PreparedStatement ps = conn.prepareStatement("""
                SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid)
                  FROM pg_depend d JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND d.refobjid = p.oid
                 WHERE p.pronamespace = 'pgmesh'::regnamespace AND d.deptype = 'n'
                   AND d.classid IN ('pg_attrdef'::regclass, 'pg_rewrite'::regclass, 'pg_constraint'::regclass,
                                     'pg_trigger'::regclass, 'pg_proc'::regclass)
                   AND NOT (d.classid = 'pg_proc'::regclass
                            AND (SELECT pronamespace FROM pg_proc WHERE oid = d.objid) = 'pgmesh'::regnamespace)
                   AND NOT (d.classid = 'pg_trigger'::regclass
                            AND (SELECT tgname FROM pg_trigger WHERE oid = d.objid) IN (?, ?))
                 ORDER BY 1""")) {
            // pgmesh's own tombstone triggers on user tables go with the schema; they are not users.
            ps.setString(1, Tombstones.TRIGGER);
            ps.setString(2, Tombstones.REKEY_TRIGGER);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    users.add(rs.getString(1) + " uses it");
                }
            }
        }
        if (Sql.queryBool(conn, "SELECT to_regclass('pgmesh.id_blocks') IS NOT NULL")
                && Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pgmesh.id_blocks)")) {
            users.add("pgmesh.id_blocks records the blocks id_block handed out");
        }
        return users;
    }

    /** Objects outside schema pgmesh that use its tables (a view over the conflict log, say). */
    private static List<String> userDependents(Connection conn) throws SQLException {
        return Sql.queryColumn(conn, """
                SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
                 WHERE d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
                   AND d.refobjid IN (SELECT oid FROM pg_class WHERE relnamespace = 'pgmesh'::regnamespace)
                   AND (pg_identify_object(d.classid, d.objid, d.objsubid)).schema IS DISTINCT FROM 'pgmesh'
                   AND NOT EXISTS (SELECT FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid
                                    WHERE d.classid = 'pg_attrdef'::regclass AND a.oid = d.objid
                                      AND c.relnamespace = 'pgmesh'::regnamespace)
                 ORDER BY 1""");
    }

    /**
     * Drops every table, function and procedure of schema pgmesh except the ID ones; CASCADE takes
     * the tombstone triggers on user tables with their functions, and a function that returns a
     * table's rows with the table (hence IF EXISTS: the list is read once, before the drops).
     */
    private static void dropAllButIds(Connection conn) throws SQLException {
        List<String> drops = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT 'DROP TABLE IF EXISTS ' || c.oid::regclass || ' CASCADE' FROM pg_class c
                 WHERE c.relnamespace = 'pgmesh'::regnamespace AND c.relkind IN ('r', 'p')
                   AND c.relname <> 'id_blocks'
                UNION ALL
                SELECT 'DROP ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || 'IF EXISTS '
                       || p.oid::regprocedure
                       || ' CASCADE'
                  FROM pg_proc p WHERE p.pronamespace = 'pgmesh'::regnamespace AND p.proname NOT IN ('uuid_v7', 'id_block')""")) {
            while (rs.next()) {
                drops.add(rs.getString(1));
            }
        }
        for (String drop : drops) {
            Sql.exec(conn, drop);
        }
    }

    private static List<String> sessions(Connection conn) throws SQLException {
        List<String> found = new ArrayList<>();
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(SESSIONS)) {
            while (rs.next()) {
                found.add("pid " + rs.getInt(1) + " (" + rs.getString(2) + ")");
            }
        }
        return found;
    }

    private static void endSessions(Connection conn) throws SQLException, InterruptedException {
        Sql.exec(conn, "SELECT pg_terminate_backend(pid) FROM (" + SESSIONS + ") s");
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE active AND slot_name LIKE ?"
                + " AND database = current_database())", Names.PREFIX.replace("_", "\\_") + "%")
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private void removeFrom(NodeConfig node, Connection conn) throws SQLException {
        List<String> removed = new ArrayList<>();
        long released = 0;
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT slot_name, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint
                  FROM pg_replication_slots WHERE slot_name LIKE 'pgmesh\\_%' AND database = current_database()
                 ORDER BY slot_name""")) {
            while (rs.next()) {
                Sql.queryString(conn, "SELECT pg_drop_replication_slot(?)", rs.getString(1));
                released += rs.getLong(2);
                removed.add("slot " + rs.getString(1));
            }
        }
        if (Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ?)", Names.PUBLICATION)) {
            Sql.exec(conn, "DROP PUBLICATION " + Ident.quote(Names.PUBLICATION));
            removed.add("publication " + Names.PUBLICATION);
        }
        for (NodeConfig other : config.nodes()) {
            String origin = Names.origin(other.name());
            if (!other.name().equals(node.name())
                    && Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", origin).isPresent()) {
                Sql.queryString(conn, "SELECT pg_replication_origin_drop(?)", origin);
                removed.add("origin " + origin);
            }
        }
        List<String> others = Sql.queryColumn(conn, "SELECT slot_name || ' (database ' || database || ')'"
                + " FROM pg_replication_slots WHERE slot_name LIKE 'pgmesh\\_%' AND database <> current_database()"
                + " ORDER BY 1");
        if (!others.isEmpty()) {
            out.println(node.name() + ": kept " + String.join(", ", others) + " and their origins: they belong to"
                    + " another mesh on this server");
        }
        if (DdlCapture.remove(conn)) {
            removed.add("the DDL event triggers");
        }
        List<String> dependents = Sql.queryBool(conn, "SELECT to_regnamespace(?) IS NOT NULL",
                Ident.quote(Names.CONTROL_SCHEMA)) ? userDependents(conn) : List.of();
        if (!dependents.isEmpty()) {
            // Dropping the schema would take the user's objects with it (CASCADE): keep it, and stop
            // the tombstone triggers, which are the only part of it that acts on the user's tables.
            for (String drop : Sql.queryColumn(conn, """
                    SELECT 'DROP TRIGGER ' || quote_ident(t.tgname) || ' ON ' || t.tgrelid::regclass FROM pg_trigger t
                      JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.pronamespace = 'pgmesh'::regnamespace""")) {
                Sql.exec(conn, drop);
            }
            removed.add("the tombstone triggers");
            out.println(node.name() + ": kept schema pgmesh and its tables (the conflict log among them), because "
                    + String.join(", ", dependents) + " depend on them; drop or change those, then run teardown again");
        } else if (Sql.queryBool(conn, "SELECT to_regnamespace(?) IS NOT NULL", Ident.quote(Names.CONTROL_SCHEMA))) {
            List<String> users = idFunctionUsers(conn);
            if (users.isEmpty()) {
                Sql.exec(conn, "DROP SCHEMA " + Ident.quote(Names.CONTROL_SCHEMA) + " CASCADE");
                removed.add("schema " + Names.CONTROL_SCHEMA);
            } else {
                dropAllButIds(conn);
                removed.add("the replication objects of schema pgmesh");
                out.println(node.name() + ": kept schema pgmesh with its ID functions and pgmesh.id_blocks, because "
                        + String.join(", ", users) + "; drop them with DROP SCHEMA pgmesh CASCADE once nothing needs them");
            }
        }
        if (removed.isEmpty()) {
            out.println(node.name() + ": nothing of pgmesh found");
        } else {
            out.printf("%s: removed %s; released %.1f MB of WAL%n", node.name(), String.join(", ", removed),
                    released / 1048576.0);
        }
    }
}
