package io.pgmesh.task;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.config.ConflictSettings;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.Sql;
import io.pgmesh.setup.ControlSchema;
import io.pgmesh.setup.RowLineage;
import io.pgmesh.setup.Tombstones;
import java.sql.Connection;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates what a node needs before any task touches it (control schema, publication), once per
 * process: every task of the node calls it, the first one does the work.
 */
public final class NodePreparer {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.setup");

    private final NodeConfig node;
    private final TableSelection tables;
    private final boolean replicateDdl;
    private final ConflictSettings conflicts;
    private boolean done;

    public NodePreparer(NodeConfig node, TableSelection tables, boolean replicateDdl, ConflictSettings conflicts) {
        this.node = node;
        this.conflicts = conflicts;
        this.tables = tables;
        this.replicateDdl = replicateDdl;
    }

    public synchronized void ensure(Connection conn) throws SQLException, NodeNotReadyException {
        if (done) {
            return;
        }
        String walLevel = Sql.queryString(conn, "SHOW wal_level").orElse("");
        if (!walLevel.equals("logical")) {
            throw new NodeNotReadyException("wal_level is " + walLevel + " on " + node.name()
                    + "; set wal_level = logical and restart PostgreSQL (RDS: rds.logical_replication = 1, then reboot)");
        }
        if (!Sql.queryString(conn, "SHOW track_commit_timestamp").orElse("off").equals("on")) {
            throw new NodeNotReadyException("track_commit_timestamp is off on " + node.name()
                    + "; conflict resolution needs it: set track_commit_timestamp = on and restart PostgreSQL");
        }
        boolean autoCommit = conn.getAutoCommit();
        conn.setAutoCommit(true);
        try {
            ControlSchema.ensure(conn);
            PublicationManager.Result result = PublicationManager.reconcile(conn, tables);
            Tombstones.ensure(conn, result.published());
            RowLineage.ensure(conn, node.name(), result.published(), conflicts);
            for (var t : result.withoutReplicaIdentity()) {
                log.warn("node {}: table {} is left out of replication: it has no primary key or replica identity"
                        + " (add a primary key, or ALTER TABLE {} REPLICA IDENTITY FULL)", node.name(), t, t.quoted());
            }
            log.info("node {}: publication pgmesh has {} table(s)", node.name(), result.published().size());
            DdlCapture.install(conn, tables, replicateDdl).ifPresent(why -> log.warn("node {}: schema changes made on {}"
                    + " are not replicated: {}; run pgmesh init once as a superuser, or make schema changes with"
                    + " pgmesh ddl", node.name(), node.name(), why));
        } finally {
            conn.setAutoCommit(autoCommit);
        }
        done = true;
    }
}
