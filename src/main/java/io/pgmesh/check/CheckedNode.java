package io.pgmesh.check;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.ServerCapabilities;
import java.sql.Connection;
import java.util.List;

/** A node under check: its config, its one open (read-only) connection, and the mesh it belongs to. */
record CheckedNode(MeshConfig mesh, NodeConfig node, Connection conn, ServerCapabilities caps) {

    String name() {
        return node.name();
    }

    /** The other nodes of the mesh: this node is the source of a task to each and the target of one from each. */
    List<NodeConfig> peers() {
        return mesh.nodes().stream().filter(n -> !n.name().equals(node.name())).toList();
    }
}
