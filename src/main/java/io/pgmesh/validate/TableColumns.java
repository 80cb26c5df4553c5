package io.pgmesh.validate;

import java.util.List;

/**
 * A table as one node's catalog describes it.
 *
 * @param columns every column, generated ones included
 * @param key     the key columns (primary key, or replica identity index), empty when it has none
 * @param indexes its indexes' definitions without their names, sorted
 */
public record TableColumns(List<Column> columns, List<String> key, List<String> indexes) {

    public TableColumns(List<Column> columns, List<String> key) {
        this(columns, key, List.of());
    }

    /**
     * @param type      the type as {@code format_type} spells it on that node
     * @param generated a generated column: not replicated, so not compared
     */
    public record Column(String name, String type, boolean generated) {
    }

    public TableColumns {
        columns = List.copyOf(columns);
        key = List.copyOf(key);
        indexes = List.copyOf(indexes);
    }

    public String typeOf(String column) {
        return columns.stream().filter(c -> c.name().equals(column)).findFirst().map(Column::type)
                .orElseThrow(() -> new IllegalArgumentException("no column " + column));
    }
}
