package io.pgmesh.task;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses a {@code run} whose mesh file differs from the one another live {@code run} process
 * of the same databases uses: the two would apply the same changes by different rules (other
 * tables, other conflict resolution), and a takeover would switch between them silently.
 */
public final class FingerprintGuard {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");
    private static final Duration BOUND = Duration.ofSeconds(5);

    private FingerprintGuard() {
    }

    /** What stands against starting, one line, or empty. A node that cannot be reached now is left out. */
    public static Optional<String> conflict(List<NodeConfig> nodes, LeaseHolder me) {
        List<String> found = new ArrayList<>();
        for (NodeConfig node : nodes) {
            try (Connection conn = PgConnector.connect(node, "run", BOUND)) {
                for (String held : TaskLease.foreignHolders(conn, me)) {
                    found.add("on " + node.name() + ", " + held);
                }
            } catch (SQLException e) {
                log.debug("node {}: the leases could not be read: {}", node.name(), Errors.describe(e));
            }
        }
        if (found.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("another pgmesh run uses a different mesh file for these databases (this one has fingerprint "
                + me.fingerprint() + "): " + String.join("; ", found) + ". Give every pgmesh run of the mesh the same"
                + " nodes, tables, conflicts and ddl settings, or stop the other process first");
    }
}
