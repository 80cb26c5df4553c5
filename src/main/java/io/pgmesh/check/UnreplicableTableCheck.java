package io.pgmesh.check;

import io.pgmesh.pg.TableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Selected tables pgmesh will leave out: those without a replica identity, and unlogged ones. */
final class UnreplicableTableCheck {

    private UnreplicableTableCheck() {
    }

    static List<Finding> check(MeshTables mesh) {
        List<Finding> findings = new ArrayList<>();
        for (TableName table : mesh.tables()) {
            Map<String, TableInfo> versions = mesh.versions(table);
            List<String> unlogged = new ArrayList<>();
            List<String> withoutIdentity = new ArrayList<>();
            versions.forEach((node, t) -> {
                if (t.unlogged()) {
                    unlogged.add(node);
                } else if (!t.hasReplicaIdentity()) {
                    withoutIdentity.add(node);
                }
            });
            if (!withoutIdentity.isEmpty()) {
                findings.add(Finding.warning(null, "no_replica_identity", "table " + table
                                + " has no primary key or replica identity" + on(withoutIdentity, versions.size())
                                + "; it is left out of replication there",
                        "without a replica identity PostgreSQL cannot say which row an UPDATE or DELETE changed, and"
                                + " a published table without one rejects the application's UPDATEs and DELETEs,"
                                + " so pgmesh does not publish it",
                        "add a primary key (ALTER TABLE " + table.quoted() + " ADD PRIMARY KEY (...)), or if no"
                                + " column set is unique, ALTER TABLE " + table.quoted() + " REPLICA IDENTITY FULL"));
            }
            if (!unlogged.isEmpty()) {
                findings.add(Finding.warning(null, "unlogged_table", "table " + table + " is UNLOGGED"
                                + on(unlogged, versions.size()) + "; it is left out of replication there",
                        "the changes of an unlogged table are not written to the WAL, so logical decoding never"
                                + " sees them",
                        "ALTER TABLE " + table.quoted() + " SET LOGGED if it should replicate; otherwise exclude it"
                                + " under tables.exclude in the mesh file"));
            }
        }
        return findings;
    }

    /** " on east, west", or nothing when it holds on every node that has the table. */
    static String on(List<String> nodes, int nodesWithTable) {
        return nodes.size() == nodesWithTable && nodesWithTable > 1 ? " on every node"
                : " on " + String.join(", ", nodes);
    }
}
