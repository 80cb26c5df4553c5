package io.pgmesh.load;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.PGConnection;
import org.postgresql.replication.ReplicationSlotInfo;

/**
 * A task's slot created together with an exported snapshot: the rows the snapshot sees are exactly
 * those committed before the slot's consistent point, so copying inside it and then streaming from
 * the slot misses nothing and applies nothing twice. The snapshot lives as long as this replication
 * connection stays open and idle; close it once every copying session has imported it.
 */
public final class SnapshotSlot implements AutoCloseable {
    private final Connection replication;
    private final String snapshotName;
    private final Lsn consistentPoint;

    private SnapshotSlot(Connection replication, String snapshotName, Lsn consistentPoint) {
        this.replication = replication;
        this.snapshotName = snapshotName;
        this.consistentPoint = consistentPoint;
    }

    public static SnapshotSlot create(NodeConfig source, String slotName) throws SQLException {
        Connection repl = PgConnector.connectReplication(source, "init " + slotName);
        try {
            ReplicationSlotInfo info = repl.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot()
                    .logical().withSlotName(slotName).withOutputPlugin("pgoutput").make();
            return new SnapshotSlot(repl, info.getSnapshotName(), Lsn.parse(info.getConsistentPoint().asString()));
        } catch (SQLException | RuntimeException e) {
            repl.close();
            throw e;
        }
    }

    public String snapshotName() {
        return snapshotName;
    }

    public Lsn consistentPoint() {
        return consistentPoint;
    }

    /** Starts a read-only transaction on {@code conn} that sees exactly this snapshot. */
    public void importInto(Connection conn) throws SQLException {
        conn.setAutoCommit(false);
        conn.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        conn.setReadOnly(true);
        try (var st = conn.createStatement()) {
            st.execute("SET TRANSACTION SNAPSHOT '" + snapshotName.replace("'", "''") + "'");
        }
    }

    @Override
    public void close() throws SQLException {
        replication.close();
    }
}
