package io.pgmesh.check;

import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/** Opens one replication connection, as every task will, and closes it again. */
final class ReplicationConnectionCheck {

    private ReplicationConnectionCheck() {
    }

    static List<Finding> check(CheckedNode n) throws SQLException {
        // A role that may not replicate is refused for that reason, which role_replication already reports.
        if (!RoleCheck.mayReplicate(n.conn())) {
            return List.of();
        }
        try (Connection ignored = PgConnector.connectReplication(n.node(), "check")) {
            return List.of();
        } catch (SQLException e) {
            return List.of(Finding.error(n.name(), "replication_connection", "a replication connection to "
                            + n.node().host() + ":" + n.node().port() + " was refused: " + Errors.describe(e),
                    "every task reads its source's changes through a replication connection",
                    "act on the reason above: when every WAL sender is taken, raise max_wal_senders; when"
                            + " pg_hba.conf rejects it, add a line admitting this role to database "
                            + n.node().database() + " and reload PostgreSQL"));
        }
    }
}
