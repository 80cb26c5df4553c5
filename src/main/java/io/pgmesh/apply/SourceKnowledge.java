package io.pgmesh.apply;

import io.pgmesh.causal.Beacon;
import io.pgmesh.causal.Seen;
import io.pgmesh.causal.SeenHistory;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.progress.TaskProgress;
import io.pgmesh.topology.Names;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What the task's source had seen ({@link Seen}), as its beacons tell, kept in step on the
 * target. Each received transaction takes the knowledge that held when it was made
 * ({@link #current}); it is stored with each applied transaction (and on its own when a beacon
 * arrives while the source is otherwise quiet), so a restarted task knows it again.
 *
 * <p>The apply session holds a copy in a temporary table that the same-origin guard of every
 * fast-path statement reads: a row whose version the source had seen is changed like a row the
 * source wrote itself, in the strict batch, with no conflict. Keyed by the target's replication
 * origin ids, which is what a row's commit record carries. Written inside the transaction it
 * serves, so a rolled-back transaction takes its write with it; after a failure the server's
 * copy is unknown and is written whole again.
 *
 * <p>In a mesh of three nodes or more it also keeps the source's knowledge over time
 * ({@link SeenHistory}), for the conflicts of other tasks into the same target, and prunes it.
 */
final class SourceKnowledge {
    static final String TABLE = "pgmesh_seen";
    private static final long PRUNE_NANOS = 10_000_000_000L;
    /**
     * How often knowledge that no transaction carried is stored on its own: each store is a
     * write on the target, and a busy reverse direction sends a beacon per batch.
     */
    private static final long SAVE_NANOS = 1_000_000_000L;

    private final Connection conn;
    private final String source;
    private final String localNode;
    private final int meshNodes;
    private final Map<String, Long> roidents = new HashMap<>();
    private Seen seen;
    private Seen saved;
    private Seen onServer;
    private Seen recorded;
    private long lastPrune = System.nanoTime();
    private long lastSave = System.nanoTime() - SAVE_NANOS;

    private final StreamStart streamStart;

    SourceKnowledge(Connection conn, String source, String localNode, int meshNodes, Seen saved, StreamStart streamStart) {
        this.streamStart = streamStart;
        this.conn = conn;
        this.source = source;
        this.localNode = localNode;
        this.meshNodes = meshNodes;
        this.seen = saved;
        this.saved = saved;
    }

    /**
     * What the source had seen as of the last message received; with the target's stream start
     * once a conflict found it ({@link StreamStart}), so that the fast path passes those versions too.
     */
    Seen current() {
        if (!seen.asMap().containsKey(localNode)) {
            streamStart.known().ifPresent(t -> seen = seen.with(localNode, t));
        }
        return seen;
    }

    /** A message of the source's stream: a beacon adds to what it had seen. */
    void received(LogicalMessage m) {
        Beacon.parse(m).ifPresent(b -> seen = seen.with(b.node(), b.through()));
    }

    /** A transaction carrying {@code t}'s knowledge committed, its progress row with it. */
    void committed(RemoteTxn t) {
        saved = t.seen();
    }

    /** True while the progress row lags what the source had seen: capture must not confirm past the beacon yet. */
    boolean unsaved() {
        return !seen.equals(saved);
    }

    /**
     * Stores what no transaction carried (a beacon while the source was otherwise quiet), at most
     * once a second; until then capture confirms no further than the last applied transaction.
     */
    void save() throws SQLException {
        if (unsaved() && System.nanoTime() - lastSave >= SAVE_NANOS) {
            TaskProgress.saveSeen(conn, source, seen);
            saved = seen;
            lastSave = System.nanoTime();
        }
    }

    /** Every so often, drops the history that no change still to arrive can need. */
    void pruneIfDue() throws SQLException {
        if (meshNodes > 2 && System.nanoTime() - lastPrune > PRUNE_NANOS) {
            SeenHistory.prune(conn, source, meshNodes - 2);
            lastPrune = System.nanoTime();
        }
    }

    static void create(Connection conn) throws SQLException {
        Sql.exec(conn, "CREATE TEMP TABLE IF NOT EXISTS " + TABLE
                + " (roident oid PRIMARY KEY, through timestamptz NOT NULL)");
    }

    /**
     * The statements that bring the server's copy to what {@code txn}'s source had seen, to run
     * first in that transaction, or null when it holds it already.
     */
    String statementsFor(RemoteTxn txn) throws SQLException {
        Seen seen = txn.seen();
        String record = null;
        if (meshNodes > 2 && !seen.equals(recorded) && !seen.equals(Seen.NONE)) {
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
