package io.pgmesh.apply;

import io.pgmesh.causal.Seen;
import io.pgmesh.causal.SeenHistory;
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
 * <p>In a mesh of three nodes or more it also keeps the source's knowledge over time
 * ({@link SeenHistory}), for the conflicts of other tasks into the same target.
 *
 * <p>Written inside the transaction it serves, so a rolled-back transaction takes its write with
 * it; after a failure the server's copy is unknown and is written whole again.
 */
final class SeenTable {
    static final String TABLE = "pgmesh_seen";

    private final Connection conn;
    private final String localNode;
    private final boolean history;
    private final Map<String, Long> roidents = new HashMap<>();
    private Seen onServer;
    private Seen recorded;

    SeenTable(Connection conn, String localNode, boolean history) {
        this.conn = conn;
        this.localNode = localNode;
        this.history = history;
    }

    static void create(Connection conn) throws SQLException {
        Sql.exec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + TABLE
                + " (roident oid PRIMARY KEY, through timestamptz NOT NULL)");
    }

    /**
     * The statements that bring the server's copy to what {@code txn}'s source had seen, to run
     * first in that transaction, or null when it holds it already.
     */
    String update(RemoteTxn txn) throws SQLException {
        Seen seen = txn.seen();
        String record = null;
        if (history && !seen.equals(recorded) && !seen.equals(Seen.NONE)) {
            record = SeenHistory.recordSql(txn.sourceNode(), txn.commitTime(), seen);
            recorded = seen;
        }
        String copy = copy(seen);
        return copy == null ? record : record == null ? copy : copy + ";\n" + record;
    }

    private String copy(Seen seen) throws SQLException {
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
        recorded = null;
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
