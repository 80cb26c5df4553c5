package io.pgmesh.causal;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Removes a node's tombstones that no change can need any more ({@link TombstoneHorizon}), a batch
 * at a time, each batch its own short transaction. A tombstone's origin and time are those of its
 * delete's commit, read from the commit timestamp of its row version.
 */
public final class TombstonePruner {
    /** Rows removed per statement. */
    static final int BATCH = 5_000;

    /**
     * What a round did.
     *
     * @param removed tombstones removed
     * @param held    per node that holds pruning back, how many tombstones older than {@code heldAfter} it keeps
     */
    public record Result(long removed, Map<String, Long> held) {
    }

    private TombstonePruner() {
    }

    /**
     * One round on the node {@code conn} is connected to, called {@code self}.
     *
     * @param heldAfter tombstones older than this that must stay are counted as held back
     */
    public static Result prune(Connection conn, String self, List<String> nodes, java.time.Duration heldAfter)
            throws SQLException {
        if (!Sql.queryBool(conn, "SELECT to_regclass('pgmesh.task_progress') IS NOT NULL")) {
            return new Result(0, Map.of());
        }
        Map<String, Seen> heard = new LinkedHashMap<>();
        try (var st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT source_node, seen::text FROM pgmesh.task_progress")) {
            while (rs.next()) {
                heard.put(rs.getString(1), Seen.parse(rs.getString(2)));
            }
        }
        // A node this node replicates with but the mesh file does not name yet (joined, and the
        // run not yet reloaded) may still send changes concurrent with any delete: nothing goes.
        List<String> unknown = new ArrayList<>();
        for (String origin : Sql.queryColumn(conn, "SELECT roname FROM pg_replication_origin WHERE roname LIKE ?",
                Names.origin("%"))) {
            String n = Names.nodeOfOrigin(origin);
            if (!nodes.contains(n)) {
                unknown.add(n);
            }
        }
        if (!unknown.isEmpty()) {
            return new Result(0, Map.of(unknown.get(0), 0L));
        }
        Map<String, TombstoneHorizon.Origin> horizons = TombstoneHorizon.of(self, nodes, heard);
        List<String> idents = new ArrayList<>();
        List<String> through = new ArrayList<>();
        Map<String, String> boundByIdent = new LinkedHashMap<>();
        for (var e : horizons.entrySet()) {
            // A delete made here carries no origin (0); one applied from a node, that node's origin.
            String ident = e.getKey().equals(self) ? "0"
                    : Sql.queryString(conn, "SELECT roident::text FROM pg_replication_origin WHERE roname = ?",
                            Names.origin(e.getKey())).orElse(null);
            Instant t = e.getValue().through();
            if (ident == null) {
                continue;
            }
            boundByIdent.put(ident, e.getValue().heldBackBy());
            if (t != null) {
                idents.add(ident);
                through.add(t.equals(Instant.MAX) ? "infinity" : t.toString());
            }
        }
        long removed = 0;
        Map<String, Long> held = new LinkedHashMap<>();
        for (String table : Sql.queryColumn(conn, "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = 'pgmesh' AND c.relkind = 'r'"
                + " AND c.relname LIKE 'deleted\\_%' ORDER BY 1")) {
            String quoted = "pgmesh." + Ident.quote(table);
            if (!idents.isEmpty()) {
                removed += pruneTable(conn, quoted, idents, through, new ArrayList<>(boundByIdent.keySet()),
                        idents.size() == boundByIdent.size());
            }
            countHeld(conn, quoted, boundByIdent, heldAfter, held);
        }
        return new Result(removed, held);
    }

    /** The tombstones older than {@code heldAfter} still kept, counted under the node that holds their origin back. */
    private static void countHeld(Connection conn, String table, Map<String, String> boundByIdent,
                                  java.time.Duration heldAfter, Map<String, Long> held) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT c.roident::text, count(*) FROM " + table + " d"
                + " CROSS JOIN LATERAL pg_xact_commit_timestamp_origin(d.xmin) c"
                + " WHERE c.timestamp < now() - ?::interval GROUP BY 1")) {
            ps.setString(1, heldAfter.toMillis() + " milliseconds");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String by = boundByIdent.get(rs.getString(1));
                    if (by != null) {
                        held.merge(by, rs.getLong(2), Long::sum);
                    }
                }
            }
        }
    }

    /**
     * @param known     the origin ids of the mesh's nodes here (0 for this node's own deletes)
     * @param otherToo  also the tombstones whose origin is no longer known: a row version frozen
     *                  by VACUUM (its commit time is gone with it, far older than any change in
     *                  flight), or an origin dropped with a node that left the mesh; only when no
     *                  origin is held back
     */
    private static long pruneTable(Connection conn, String table, List<String> idents, List<String> through,
                                   List<String> known, boolean otherToo) throws SQLException {
        // The condition is checked again on the row the DELETE finds: a tombstone written anew
        // since the inner scan (the key deleted again) keeps its place under the same ctid only if
        // it is still prunable.
        String prunable = "(EXISTS (SELECT 1 FROM h, pg_xact_commit_timestamp_origin(%1$s.xmin) c"
                + " WHERE h.roident = c.roident AND c.timestamp <= h.through)"
                + " OR ? AND ((pg_xact_commit_timestamp_origin(%1$s.xmin)).timestamp IS NULL"
                + " OR NOT (pg_xact_commit_timestamp_origin(%1$s.xmin)).roident = ANY (?::text[]::oid[])))";
        try (PreparedStatement ps = conn.prepareStatement("WITH h AS (SELECT * FROM"
                + " unnest(?::text[]::oid[], ?::text[]::timestamptz[]) AS h(roident, through))"
                + " DELETE FROM " + table + " t WHERE t.ctid = ANY (ARRAY(SELECT d.ctid FROM " + table + " d WHERE "
                + prunable.formatted("d") + " LIMIT " + BATCH + ")) AND " + prunable.formatted("t"))) {
            ps.setArray(1, conn.createArrayOf("text", idents.toArray()));
            ps.setArray(2, conn.createArrayOf("text", through.toArray()));
            for (int p : new int[] {3, 5}) {
                ps.setBoolean(p, otherToo);
                ps.setArray(p + 1, conn.createArrayOf("text", known.toArray()));
            }
            return Sql.removeInBatches(ps, BATCH);
        }
    }
}
