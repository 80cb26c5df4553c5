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
        String keyText = String.join(", ", key.stream().map(k -> "t." + Ident.quote(k) + "::text").toList());
        String sql = "SELECT v.roident, v.\"timestamp\"::text, " + keyText + " FROM " + table.name().quoted()
                + " t, LATERAL pg_xact_commit_timestamp_origin(t.xmin) v WHERE v.\"timestamp\" > " + since
                + " ORDER BY v.roident, v.\"timestamp\"";
        long started = System.nanoTime();
        Map<String, List<List<String>>> byCommit = new LinkedHashMap<>();
        try (PreparedStatement ps = seedSnapshot.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (int i = 0; i < key.size(); i++) {
                    values.add(rs.getString(3 + i));
                }
                byCommit.computeIfAbsent(origins.get(rs.getInt(1)) + "\u0000" + rs.getString(2), k -> new ArrayList<>())
                        .add(values);
            }
        }
        if (byCommit.isEmpty()) {
            log.info("initial load {}: no row of {} to re-stamp (scanned in {} ms)", seed.name(), table.name(),
                    (System.nanoTime() - started) / 1_000_000);
            return 0;
        }
        List<String> types = new ArrayList<>();
        for (String k : key) {
            types.add(io.pgmesh.pg.KeyMatch.typeOf(target, table.name(), k));
        }
        int rows = 0;
        String origin = null;
        try {
            for (var e : byCommit.entrySet()) {
                String[] parts = e.getKey().split("\u0000", 2);
                if (!parts[0].equals(origin)) {
                    if (origin != null) {
                        Sql.queryString(target, "SELECT pg_replication_origin_session_reset()");
                    }
                    origin = parts[0];
                    if (Sql.queryString(target, "SELECT pg_replication_origin_oid(?)", origin).isEmpty()) {
                        Sql.queryString(target, "SELECT pg_replication_origin_create(?)", origin);
                    }
                    Sql.queryString(target, "SELECT pg_replication_origin_session_setup(?)", origin);
                }
                Sql.exec(target, commit(table, key, types, parts[1], e.getValue()));
                rows += e.getValue().size();
            }
        } finally {
            if (origin != null) {
                Sql.queryString(target, "SELECT pg_replication_origin_session_reset()");
            }
        }
        log.info("initial load {}: {} row(s) of {} given the version they have on {} (written by a commit some"
                + " node had not seen yet) in {} ms", seed.name(), rows, table.name(), seed.name(),
                (System.nanoTime() - started) / 1_000_000);
        return rows;
    }

    /**
     * One source commit's rows, written again as they are (a new version, whose commit carries the
     * origin set up and this commit time) in one round trip. The origin's position stays where it
     * is: nothing was received under it yet.
     */
    private static String commit(TableDefinition table, List<String> key, List<String> types, String commitTime,
                                 List<List<String>> keys) {
        StringBuilder sql = new StringBuilder("BEGIN; SELECT pg_replication_origin_xact_setup(COALESCE("
                + "pg_replication_origin_session_progress(false), '0/0'), ").append(Ident.literal(commitTime))
                .append("::timestamptz);");
        for (List<String> values : keys) {
            sql.append(" UPDATE ").append(table.name().quoted()).append(" SET ").append(Ident.quote(key.get(0)))
                    .append(" = ").append(Ident.quote(key.get(0))).append(" WHERE ");
            for (int i = 0; i < key.size(); i++) {
                sql.append(i == 0 ? "" : " AND ").append(Ident.quote(key.get(i))).append(" = ")
                        .append(Ident.literal(values.get(i))).append("::").append(types.get(i));
            }
            sql.append(';');
        }
        return sql.append(" COMMIT").toString();
    }
}
