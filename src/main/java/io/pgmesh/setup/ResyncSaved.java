package io.pgmesh.setup;

import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * {@code pgmesh.resync_saved} on a resynced node: its own version of every key the resync changed,
 * kept because it may be a write made while the node was cut off that no other node has.
 */
final class ResyncSaved {
    private ResyncSaved() {
    }

    static void ensure(Connection node) throws SQLException {
        Sql.exec(node, """
                CREATE TABLE IF NOT EXISTS pgmesh.resync_saved (
                    id bigserial PRIMARY KEY,
                    saved_at timestamptz NOT NULL DEFAULT now(),
                    source_node text NOT NULL,
                    table_name text NOT NULL,
                    key_values text[] NOT NULL,
                    row_on_node jsonb
                )""");
    }

    /** @param rowOnNode the node's row as JSON; null when the node lacked the key */
    static void save(Connection node, String source, TableName table, List<String> key, String rowOnNode)
            throws SQLException {
        try (PreparedStatement ps = node.prepareStatement("INSERT INTO pgmesh.resync_saved"
                + " (source_node, table_name, key_values, row_on_node) VALUES (?, ?, ?::text[], ?::jsonb)")) {
            ps.setString(1, source);
            ps.setString(2, table.toString());
            ps.setArray(3, node.createArrayOf("text", key.toArray()));
            ps.setString(4, rowOnNode);
            ps.executeUpdate();
        }
    }
}
