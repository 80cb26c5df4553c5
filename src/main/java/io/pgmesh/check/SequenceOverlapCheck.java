package io.pgmesh.check;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.TableName;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serial and identity key columns whose sequences would hand out the same value on two nodes.
 * A column is safe when every node's sequence has the same INCREMENT n, at least the number of
 * nodes, and the nodes' next values differ modulo n: then no two nodes ever meet.
 */
final class SequenceOverlapCheck {

    private SequenceOverlapCheck() {
    }

    static List<Finding> check(MeshTables mesh) {
        List<Finding> findings = new ArrayList<>();
        int meshSize = mesh.mesh().nodes().size();
        for (TableName table : mesh.tables()) {
            if (!mesh.replicatedAnywhere(table)) {
                continue;
            }
            Map<String, TableInfo> versions = mesh.versions(table);
            Set<String> columns = new LinkedHashSet<>();
            versions.values().forEach(t -> columns.addAll(t.keySequences().keySet()));
            for (String column : columns) {
                Map<String, TableInfo.KeySequence> sequences = new LinkedHashMap<>();
                versions.forEach((node, t) -> {
                    if (t.keySequences().containsKey(column)) {
                        sequences.put(node, t.keySequences().get(column));
                    }
                });
                if (sequences.size() >= 2 && !partitioned(sequences, meshSize)) {
                    findings.add(finding(mesh, table, column, sequences));
                }
            }
        }
        return findings;
    }

    /** True when the sequences can never hand out the same value; unreadable ones are not proven safe. */
    static boolean partitioned(Map<String, TableInfo.KeySequence> sequences, int meshSize) {
        long increment = sequences.values().iterator().next().increment();
        if (increment < meshSize) {
            return false;
        }
        Set<BigInteger> residues = new HashSet<>();
        for (TableInfo.KeySequence s : sequences.values()) {
            if (s.increment() != increment || s.next() == null
                    || !residues.add(s.next().mod(BigInteger.valueOf(increment)))) {
                return false;
            }
        }
        return true;
    }

    private static Finding finding(MeshTables mesh, TableName table, String column,
                                   Map<String, TableInfo.KeySequence> sequences) {
        List<String> state = new ArrayList<>();
        sequences.forEach((node, s) -> state.add(node + " " + s.sequence() + " next "
                + (s.next() == null ? "unknown (no SELECT privilege on it)" : s.next()) + " increment " + s.increment()));
        return Finding.warning(null, "sequence_overlap", "key column " + table + "." + column
                        + " takes its values from sequences that can hand out the same value on two nodes: "
                        + String.join(", ", state),
                "two nodes that insert at the same time hand out the same key; replication then meets an"
                        + " insert_exists conflict and keeps only one of the two rows",
                "run pgmesh ids partition -c <mesh file> (every such sequence of the mesh, room for more nodes),"
                        + " or by hand (node k of n: INCREMENT n, next value k modulo n): "
                        + partitionStatements(mesh, table, column, sequences)
                        + "; or use keys that cannot collide, such as pgmesh.uuid_v7()");
    }

    /**
     * Concrete statements for each node, starting above every node's next value so that no value
     * handed out already comes round again.
     */
    private static String partitionStatements(MeshTables mesh, TableName table, String column,
                                              Map<String, TableInfo.KeySequence> sequences) {
        if (sequences.values().stream().anyMatch(s -> s.next() == null)) {
            return "on each node, ALTER SEQUENCE ... INCREMENT BY n RESTART WITH a value above the highest key in"
                    + " use that is k modulo n";
        }
        int n = mesh.mesh().nodes().size();
        BigInteger base = sequences.values().stream().map(TableInfo.KeySequence::next).max(BigInteger::compareTo)
                .orElseThrow();
        List<String> statements = new ArrayList<>();
        List<String> order = mesh.mesh().nodes().stream().map(nc -> nc.name()).toList();
        sequences.forEach((node, s) -> {
            BigInteger k = BigInteger.valueOf(order.indexOf(node) + 1L);
            BigInteger start = base.add(k.subtract(base).mod(BigInteger.valueOf(n)));
            String change = "INCREMENT BY " + n + " RESTART WITH " + start;
            statements.add("on " + node + ": " + (s.identity()
                    ? "ALTER TABLE " + table.quoted() + " ALTER COLUMN " + Ident.quote(column) + " SET " + change
                    : "ALTER SEQUENCE " + s.sequence() + " " + change));
        });
        return String.join("; ", statements) + " (check that these start above the highest key already in the"
                + " table)";
    }
}
