package io.pgmesh.load;

import io.pgmesh.causal.Seen;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives a joining node's copies of recent rows the version the seed has: the node and the commit
 * time that wrote them. COPY stamps every loaded row with the load's own commit, which would make
 * the new node decide differently from the old ones about a change that is concurrent with a row
 * version in the snapshot: a peer's change still in flight, made before the peer had seen that
 * version. The seed keeps its version or takes the peer's by comparing the two; the new node must
 * compare the same two.
 *
 * <p>Only versions some peer had not yet seen when the snapshot was taken can meet such a change
 * (what each peer had seen comes with its progress, {@link PeerHandoff}); those rows are written
 * again on the new node, one transaction per source commit, under the writing node's origin and
 * with its commit time, as its task would have written them. Older rows keep the load's stamp:
 * every peer had seen them, so any change to them is later.
 */
final class VersionStamps {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.init");

    private final NodeConfig seed;
    private final Map<String, Seen> seenByPeer;
    private final List<String> nodes;

    /**
     * @param seenByPeer what each peer had seen of every node, as the seed knew it in the snapshot
     * @param nodes      every node of the mesh
     */
    VersionStamps(NodeConfig seed, Map<String, Seen> seenByPeer, List<String> nodes) {
        this.seed = seed;
        this.seenByPeer = seenByPeer;
        this.nodes = nodes;
    }

    /**
     * For a version written by {@code node}: the newest commit time every peer other than it had
     * seen; later versions may be unknown to some peer. Null: some peer had seen nothing of it;
     * {@link Instant#MAX}: no other peer, so nothing of it can be unknown.
     */
    private Instant horizon(String node) {
        Instant horizon = Instant.MAX;
        for (var e : seenByPeer.entrySet()) {
            if (e.getKey().equals(node)) {
                continue; // a peer knows its own versions
            }
            Instant saw = e.getValue().asMap().get(node);
            if (saw == null) {
                return null;
            }
            horizon = saw.isBefore(horizon) ? saw : horizon;
        }
        return horizon;
    }

    /**
     * Re-stamps the recent rows of {@code table}; returns how many. A table without a key (REPLICA
     * IDENTITY FULL) cannot have its rows found one by one and keeps the load's stamp.
     */
    int run(Connection seedSnapshot, Connection target, TableDefinition table) throws SQLException {
        if (seenByPeer.isEmpty()) {
            return 0;
        }
        List<String> key = Sql.queryColumn(target, "SELECT a.attname FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid"
                + " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE c.oid = ?::regclass"
                + " AND " + io.pgmesh.pg.ReplicaIdentity.isIdentityIndex("i") + " ORDER BY a.attnum", table.name().quoted());
        if (key.isEmpty()) {
            return 0;
        }
        // The seed's origins by id, and the horizon of the node each stands for.
        Map<Integer, String> origins = new LinkedHashMap<>();
        origins.put(0, Names.origin(seed.name()));
        try (PreparedStatement ps = seedSnapshot.prepareStatement("SELECT roident, roname FROM pg_replication_origin");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                String node = Names.nodeOfOrigin(rs.getString(2));
                if (nodes.contains(node)) {
                    origins.put(rs.getInt(1), rs.getString(2));
                }
            }
        }
        StringBuilder since = new StringBuilder("CASE v.roident");
        for (var o : origins.entrySet()) {
            Instant h = horizon(Names.nodeOfOrigin(o.getValue()));
            since.append(" WHEN ").append(o.getKey()).append(" THEN ")
                    .append(h == null ? "'-infinity'::timestamptz" : h.equals(Instant.MAX) ? "'infinity'::timestamptz"
                            : Ident.literal(h.toString()) + "::timestamptz");
        }
        since.append(" ELSE 'infinity'::timestamptz END");
        // The column written again as it is: any stored column the server lets an UPDATE set
        // (not a generated one, nor an identity GENERATED ALWAYS).
        String touched = Sql.queryString(target, "SELECT attname FROM pg_attribute WHERE attrelid = ?::regclass"
                + " AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity <> 'a' ORDER BY attnum"
                + " LIMIT 1", table.name().quoted()).orElse(null);
        if (touched == null) {
            log.warn("initial load {}: {} has no column an UPDATE may set, so its recent rows keep the load's stamp;"
                    + " run pgmesh validate once the join is done", seed.name(), table.name());
            return 0;
        }
        String keyText = String.join(", ", key.stream().map(k -> "t." + Ident.quote(k) + "::text").toList());
        String sql = "SELECT v.roident, v.\"timestamp\"::text, " + keyText + " FROM " + table.name().quoted()
                + " t, LATERAL pg_xact_commit_timestamp_origin(t.xmin) v WHERE v.\"timestamp\" > " + since
                + " ORDER BY v.roident, v.\"timestamp\"";
        List<String> types = new ArrayList<>();
        for (String k : key) {
            types.add(io.pgmesh.pg.KeyMatch.typeOf(target, table.name(), k));
        }
        long started = System.nanoTime();
        Rewriter rewriter = new Rewriter(target, table, key, types, touched);
        try (PreparedStatement ps = seedSnapshot.prepareStatement(sql)) {
            // Streamed: in a mesh that was quiet, most of a big table can count as recent.
            ps.setFetchSize(BATCH);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    List<String> values = new ArrayList<>();
                    for (int i = 0; i < key.size(); i++) {
                        values.add(rs.getString(3 + i));
                    }
                    rewriter.add(origins.get(rs.getInt(1)), rs.getString(2), values);
                }
            }
            rewriter.finish();
        } catch (SQLException e) {
            rewriter.abort();
            throw e;
        }
        if (rewriter.rows > 0) {
            log.info("initial load {}: {} row(s) of {} given the version they have on {} (written by a commit some"
                    + " node had not seen yet) in {} ms", seed.name(), rewriter.rows, table.name(), seed.name(),
                    (System.nanoTime() - started) / 1_000_000);
        }
        return rewriter.rows;
    }

    private static final int BATCH = 1000;

    /**
     * Writes the rows of each source commit again in one target transaction under the commit's
     * origin, with its commit time; rows are sent in batches, so memory stays bounded. It runs
     * as a replica session, as an apply does: the target's own triggers must not fire for a row
     * that is only being stamped.
     */
    private static final class Rewriter {
        private final Connection target;
        private final TableDefinition table;
        private final List<String> key;
        private final List<String> types;
        private final String touched;
        private String origin;
        private String commitTime;
        private final StringBuilder pending = new StringBuilder();
        private int pendingRows;
        private boolean open;
        int rows;

        Rewriter(Connection target, TableDefinition table, List<String> key, List<String> types, String touched)
                throws SQLException {
            this.target = target;
            this.table = table;
            this.key = key;
            this.types = types;
            this.touched = touched;
            Sql.exec(target, "SET session_replication_role = replica");
        }

        void add(String rowOrigin, String rowCommitTime, List<String> values) throws SQLException {
            if (!rowOrigin.equals(origin) || !rowCommitTime.equals(commitTime)) {
                commit();
                if (!rowOrigin.equals(origin)) {
                    if (origin != null) {
                        Sql.queryString(target, "SELECT pg_replication_origin_session_reset()");
                    }
                    if (Sql.queryString(target, "SELECT pg_replication_origin_oid(?)", rowOrigin).isEmpty()) {
                        Sql.queryString(target, "SELECT pg_replication_origin_create(?)", rowOrigin);
                    }
                    Sql.queryString(target, "SELECT pg_replication_origin_session_setup(?)", rowOrigin);
                    origin = rowOrigin;
                }
                commitTime = rowCommitTime;
                // The origin's position stays where it is: nothing was received under it yet.
                pending.append("BEGIN; SELECT pg_replication_origin_xact_setup(COALESCE(")
                        .append("pg_replication_origin_session_progress(false), '0/0'), ")
                        .append(Ident.literal(commitTime)).append("::timestamptz);");
                open = true;
            }
            pending.append(" UPDATE ").append(table.name().quoted()).append(" SET ").append(Ident.quote(touched))
                    .append(" = ").append(Ident.quote(touched)).append(" WHERE ");
            for (int i = 0; i < key.size(); i++) {
                pending.append(i == 0 ? "" : " AND ").append(Ident.quote(key.get(i))).append(" = ")
                        .append(Ident.literal(values.get(i))).append("::").append(types.get(i));
            }
            pending.append(';');
            rows++;
            if (++pendingRows >= BATCH) {
                flush();
            }
        }

        private void flush() throws SQLException {
            if (pending.length() > 0) {
                Sql.exec(target, pending.toString());
                pending.setLength(0);
                pendingRows = 0;
            }
        }

        private void commit() throws SQLException {
            if (open) {
                pending.append(" COMMIT;");
                flush();
                open = false;
            }
        }

        void finish() throws SQLException {
            commit();
            reset();
        }

        /** After a failure: the open transaction goes, so the error is the one the caller sees. */
        void abort() {
            try {
                Sql.exec(target, "ROLLBACK");
                reset();
            } catch (SQLException ignored) {
                // the original failure is what matters
            }
        }

        private void reset() throws SQLException {
            if (origin != null) {
                Sql.queryString(target, "SELECT pg_replication_origin_session_reset()");
                origin = null;
            }
            Sql.exec(target, "RESET session_replication_role");
        }
    }
}
