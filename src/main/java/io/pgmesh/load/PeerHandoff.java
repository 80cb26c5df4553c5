package io.pgmesh.load;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import io.pgmesh.causal.Seen;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hand-off that lets a node join a running mesh: the seed's snapshot carries only what the
 * seed had applied of each other node (a peer) when it was taken, and the seed's own slot toward
 * the new node sends only the seed's own changes. So each peer's changes must reach the new node
 * from exactly the point the seed had applied them.
 *
 * <p>Each peer's slot toward the new node is a copy of its slot toward the seed, made before the
 * snapshot: the copy can send everything the seed had not yet confirmed, which includes every
 * peer transaction the snapshot lacks (the seed confirms only what it has committed). Inside the
 * snapshot the seed's {@code task_progress} row says, exactly (it commits with the data), which
 * peer transaction is the last one the snapshot holds; the new node's origin for that peer starts
 * there. Nothing is lost and nothing comes twice.
 */
public final class PeerHandoff {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.init");

    /** Where one peer's stream toward the new node resumes: what the seed had applied of it at the snapshot. */
    private record Resume(NodeConfig peer, Lsn lastCommit, String lastCommitTime, String seen) {
    }

    private final NodeConfig seed;
    private final NodeConfig joining;
    private final List<NodeConfig> peers;
    private final List<Resume> resumes = new ArrayList<>();
    /** Per peer, when the seed's slot toward it was made: the floor of what it had seen of the seed. */
    private final Map<String, java.time.Instant> seedFloors = new LinkedHashMap<>();

    /** @param peers the nodes other than the seed whose slot toward the seed exists: they are running */
    public PeerHandoff(NodeConfig seed, NodeConfig joining, List<NodeConfig> peers) {
        this.seed = seed;
        this.joining = joining;
        this.peers = List.copyOf(peers);
    }

    public List<NodeConfig> peers() {
        return peers;
    }

    /**
     * What each peer had seen of every node when the snapshot was taken, as the seed knew it
     * (after {@link #readProgress}); a peer the seed applied nothing from had seen nothing known.
     */
    Map<String, Seen> seenByPeer() {
        Map<String, Seen> seen = new LinkedHashMap<>();
        for (NodeConfig peer : peers) {
            Seen s = resumes.stream().filter(r -> r.peer().equals(peer)).findFirst()
                    .map(r -> Seen.parse(r.seen())).orElse(Seen.NONE);
            seen.put(peer.name(), s.with(seed.name(), seedFloors.get(peer.name())));
        }
        return seen;
    }

    /** The nodes whose versions a loaded row can carry: the seed, the peers and the joining node. */
    List<String> nodes() {
        List<String> all = new ArrayList<>(List.of(seed.name(), joining.name()));
        peers.forEach(p -> all.add(p.name()));
        return all;
    }

    /**
     * Before the snapshot: each peer's slot toward the joining node, copied from its slot toward
     * the seed. A slot toward the joining node that is already there is dropped first: the joining
     * node has applied nothing from it (init checked), and a slot created at some later "now" would
     * skip what the snapshot lacks.
     */
    public void copySlots() throws SQLException {
        for (NodeConfig peer : peers) {
            String from = Names.slot(peer.name(), seed.name());
            String to = Names.slot(peer.name(), joining.name());
            try (Connection conn = PgConnector.connect(peer, "init " + to)) {
                if (Sql.queryBool(conn, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)", to)) {
                    Sql.queryString(conn, "SELECT pg_drop_replication_slot(?)", to);
                }
                // The copy's versions before its start did not all reach the joining node: no floor for them.
                Sql.queryString(conn, "DELETE FROM pgmesh.slot_start WHERE slot_name = ? RETURNING 1", to);
                Sql.queryString(conn, "SELECT lsn FROM pg_copy_logical_replication_slot(?, ?)", from, to);
                log.info("initial load {} -> {}: slot {} on {} copied from {}, so {}'s changes the snapshot lacks"
                        + " reach {}", seed.name(), joining.name(), to, peer.name(), from, peer.name(), joining.name());
            }
        }
    }

    /** Inside the snapshot ({@code seedSnapshot} has imported it): what the seed had applied of each peer. */
    public void readProgress(Connection seedSnapshot) throws SQLException {
        resumes.clear();
        seedFloors.clear();
        for (NodeConfig peer : peers) {
            // Every version the seed wrote before its slot toward the peer existed reached the peer
            // by other means (a load, a common seed): the peer had seen it.
            Sql.queryString(seedSnapshot, "SELECT (extract(epoch FROM started_at) * 1000000)::bigint::text"
                    + " FROM pgmesh.slot_start WHERE slot_name = ?", Names.slot(seed.name(), peer.name()))
                    .ifPresent(micros -> seedFloors.put(peer.name(), java.time.Instant.EPOCH.plus(Long.parseLong(micros),
                            java.time.temporal.ChronoUnit.MICROS)));
            try (PreparedStatement ps = seedSnapshot.prepareStatement("SELECT last_commit_lsn::text,"
                    + " last_commit_time::text, seen::text FROM pgmesh.task_progress WHERE source_node = ?")) {
                ps.setString(1, peer.name());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && !Lsn.parse(rs.getString(1)).isZero()) {
                        resumes.add(new Resume(peer, Lsn.parse(rs.getString(1)), rs.getString(2), rs.getString(3)));
                    }
                    // No row: the seed applied nothing of this peer, so the copied slot's own start is right.
                }
            }
        }
    }

    /**
     * After the rows are in: the joining node's origin for each peer, moved to where the seed
     * stood. The origins move first (that cannot be part of a transaction); the progress rows,
     * which are what a task believes, commit in {@code conn}'s open transaction together with
     * the load's "done", so an interrupted load never leaves a half hand-off that a task would use.
     */
    public void startOrigins(Connection conn) throws SQLException {
        for (NodeConfig peer : peers) {
            String origin = Names.origin(peer.name());
            boolean resumes = this.resumes.stream().anyMatch(r -> r.peer().equals(peer));
            if (!resumes && Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", origin).isPresent()) {
                // Left by an earlier attempt or a resync: the copied slot's own start is where this
                // peer resumes. Reset rather than dropped, so the origin keeps its id (rows carry it).
                Sql.queryString(conn, "SELECT pg_replication_origin_advance(?, '0/0')", origin);
            }
        }
        for (Resume r : resumes) {
            String origin = Names.origin(r.peer().name());
            if (Sql.queryString(conn, "SELECT pg_replication_origin_oid(?)", origin).isEmpty()) {
                Sql.queryString(conn, "SELECT pg_replication_origin_create(?)", origin);
            }
            Sql.queryString(conn, "SELECT pg_replication_origin_advance(?, ?::pg_lsn)", origin, r.lastCommit().toString());
        }
    }

    /** The progress rows of {@link #startOrigins}, in the caller's transaction. */
    public void recordProgress(Connection conn) throws SQLException {
        for (NodeConfig peer : peers) {
            Sql.queryString(conn, "DELETE FROM pgmesh.task_progress WHERE source_node = ? RETURNING 1", peer.name());
        }
        for (Resume r : resumes) {
            try (PreparedStatement ps = conn.prepareStatement("""
                    INSERT INTO pgmesh.task_progress (source_node, last_commit_lsn, last_commit_time, applied_at, seen)
                    VALUES (?, ?::pg_lsn, ?::timestamptz, now(), ?::jsonb)
                    ON CONFLICT (source_node) DO UPDATE SET last_commit_lsn = excluded.last_commit_lsn,
                        last_commit_time = excluded.last_commit_time, applied_at = excluded.applied_at,
                        seen = excluded.seen""")) {
                ps.setString(1, r.peer().name());
                ps.setString(2, r.lastCommit().toString());
                ps.setString(3, r.lastCommitTime());
                ps.setString(4, r.seen());
                ps.executeUpdate();
            }
            log.info("initial load {} -> {}: changes of {} follow from {} (what {} had applied of it at the snapshot)",
                    seed.name(), joining.name(), r.peer().name(), r.lastCommit(), seed.name());
        }
    }
}
