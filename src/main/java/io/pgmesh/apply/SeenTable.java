package io.pgmesh.apply;

import io.pgmesh.causal.Seen;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The apply session's copy of what the source had seen ({@link Seen}), in a temporary table that
 * the same-origin guard of every fast-path statement reads: a row whose version the source had
 * seen is changed like a row the source wrote itself, in the strict batch, with no conflict.
 * Keyed by the target's replication origin ids, which is what a row's commit record carries.
 *
 * <p>Written inside the transaction it serves, so a rolled-back transaction takes its write with
 * it; after a failure the server's copy is unknown and is written whole again.
 */
final class SeenTable {
    static final String TABLE = "pgmesh_seen";

    private final Connection conn;
    private final String localNode;
    private final Map<String, Long> roidents = new HashMap<>();
    private Seen onServer;

    SeenTable(Connection conn, String localNode) {
        this.conn = conn;
        this.localNode = localNode;
    }

    static void create(Connection conn) throws SQLException {
        Sql.exec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + TABLE
                + " (roident oid PRIMARY KEY, through timestamptz NOT NULL)");
    }

    /** The statement that brings the server's copy to {@code seen}, or null when it holds it already. */
    String update(Seen seen) throws SQLException {
        if (seen.equals(onServer)) {
            return null;
        }
        StringJoiner rows = new StringJoiner(", ");
        for (Map.Entry<String, Instant> e : seen.asMap().entrySet()) {
            Long roident = roident(e.getKey());
            if (roident != null) {
                rows.add("(" + roident + ", " + Ident.literal(e.getValue().toString()) + ")");
            }
        }
        onServer = seen;
        if (rows.length() == 0) {
            return null;
        }
        return "INSERT INTO pg_temp." + TABLE + " VALUES " + rows
                + " ON CONFLICT (roident) DO UPDATE SET through = greatest(" + TABLE + ".through, EXCLUDED.through)";
    }

    /** The server's copy may have rolled back: write it whole next time. */
    void unknown() {
        onServer = null;
    }

    /** The target's origin id for versions written by {@code node}; 0 for its own; null while it has none. */
    private Long roident(String node) throws SQLException {
        if (node.equals(localNode)) {
            return 0L;
        }
        Long id = roidents.get(node);
        if (id == null) {
            id = Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)::bigint", Names.origin(node))
                    .map(Long::valueOf).orElse(null);
            if (id != null) {
                roidents.put(node, id);
            }
        }
        return id;
    }
}
