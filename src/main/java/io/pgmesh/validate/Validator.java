package io.pgmesh.validate;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.TableName;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Compares every replicated table across the nodes of a mesh, without reading a table into
 * memory and without mistaking changes still in flight for differences.
 *
 * <p>The tables are the union of every node's publication. First every task is given time to
 * apply what its source had committed at the start; then each table is compared on all nodes at
 * once (see {@link TableCheck}), and every differing key is re-read after another catch-up.
 */
public final class Validator {
    private Validator() {
    }

    /**
     * @throws ValidationException when a node cannot be reached or fails a query; the message names it
     */
    public static ValidationReport run(MeshConfig config, ValidateOptions options)
            throws ValidationException, InterruptedException {
        try (PerNode nodes = new PerNode(connect(config))) {
            CatchUpGate gate = CatchUpGate.open(config, nodes.nodes(), options.catchUpTimeout());
            Set<TableName> tables = new TreeSet<>();
            nodes.run(NodeReader::published).values().forEach(tables::addAll);
            TableCheck check = new TableCheck(nodes, gate, options);
            List<TableReport> reports = new ArrayList<>();
            for (TableName table : tables) {
                reports.add(check.run(table));
            }
            return ValidationReport.of(config.nodes().stream().map(NodeConfig::name).toList(), gate, reports);
        }
    }

    /** One connection per node; every node that does not answer is named, each on its own line. */
    private static Map<String, NodeReader> connect(MeshConfig config) throws ValidationException {
        Map<String, NodeReader> readers = new LinkedHashMap<>();
        List<String> unreachable = new ArrayList<>();
        SQLException first = null;
        for (NodeConfig node : config.nodes()) {
            try {
                readers.put(node.name(), NodeReader.open(node));
            } catch (SQLException e) {
                unreachable.add("node " + PgConnector.describe(node) + ": unreachable: " + Errors.describe(e));
                first = first == null ? e : first;
            }
        }
        if (!unreachable.isEmpty()) {
            for (NodeReader r : readers.values()) {
                try {
                    r.close();
                } catch (SQLException ignored) {
                    // validation stops here anyway
                }
            }
            throw new ValidationException(String.join("\n", unreachable), first);
        }
        return readers;
    }
}
