package io.pgmesh.apply;

import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/** Maps the replication origin ids of a target to the node names they stand for. */
final class OriginNames {
    private final Connection conn;
    private final String localNode;
    private final Map<Long, String> byId = new HashMap<>();

    OriginNames(Connection conn, String localNode) {
        this.conn = conn;
        this.localNode = localNode;
    }

    /** The node whose change wrote a row: roident 0 is a local write. */
    String nodeOf(long roident) throws SQLException {
        if (roident == 0) {
            return localNode;
        }
        String name = byId.get(roident);
        if (name == null) {
            reload();
            name = byId.getOrDefault(roident, "origin " + roident);
        }
        return name;
    }

    private void reload() throws SQLException {
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT roident, roname FROM pg_replication_origin")) {
            while (rs.next()) {
                byId.put(rs.getLong(1), Names.nodeOfOrigin(rs.getString(2)));
            }
        }
    }
}
