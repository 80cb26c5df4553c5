package io.pgmesh.load;

import io.pgmesh.pg.TableName;
import java.util.List;

/**
 * A table as the initial load needs to recreate it on an empty node. Every SQL fragment comes from
 * the source server's own deparsers ({@code format_type}, {@code pg_get_expr},
 * {@code pg_get_constraintdef}, {@code pg_get_indexdef}), so nothing is re-derived by hand.
 *
 * @param name            the table
 * @param columns         in the source's column order
 * @param checks          CHECK constraints: name and definition, created with the table (those
 *                        NOT VALID after the rows, so that rows they were never checked against load)
 * @param keys            primary key, unique and exclusion constraints: added once the rows are in
 * @param foreignKeys     added after every table is loaded, so load order does not matter
 * @param indexes         {@code CREATE INDEX} statements of indexes that back no constraint
 * @param replicaIdentity {@code d}efault, {@code f}ull, {@code i}ndex or {@code n}othing
 * @param identityIndex   the index named by REPLICA IDENTITY USING INDEX, or null
 * @param estimatedRows   the source planner's estimate, for progress only
 * @param bytes           the source's heap size, for progress and splitting
 * @param partition       where the table sits in a partitioning, or null for a plain table
 */
public record TableDefinition(TableName name, List<Column> columns, List<Constraint> checks, List<Constraint> keys,
                              List<Constraint> foreignKeys, List<String> indexes, char replicaIdentity,
                              String identityIndex, long estimatedRows, long bytes, Partition partition) {

    public TableDefinition {
        columns = List.copyOf(columns);
        checks = List.copyOf(checks);
        keys = List.copyOf(keys);
        foreignKeys = List.copyOf(foreignKeys);
        indexes = List.copyOf(indexes);
    }

    /**
     * One column.
     *
     * @param name      unquoted
     * @param type      as {@code format_type} prints it, schema-qualified where needed
     * @param notNull   NOT NULL
     * @param defaultExpr the default expression, or null (also null for generated columns)
     * @param identity  {@code a} (ALWAYS), {@code d} (BY DEFAULT) or 0
     * @param generatedExpr the expression of a generated column, or null
     * @param collation the quoted collation when it differs from the type's, or null
     * @param virtual   a generated column computed when read (PostgreSQL 18), not STORED
     * @param identityOptions the identity sequence's options ({@code INCREMENT 1 MINVALUE ...}), or null
     */
    public record Column(String name, String type, boolean notNull, String defaultExpr, char identity,
                         String generatedExpr, String collation, boolean virtual, String identityOptions) {
        public boolean generated() {
            return generatedExpr != null;
        }
    }

    /**
     * A table's place in a partitioning. Constraints and indexes a partition inherits from its
     * parent are not among its own: the parent gives them to it when it is attached.
     *
     * @param parent the partitioned table it is a partition of, or null for the root
     * @param bound  {@code FOR VALUES ...} or {@code DEFAULT} as {@code pg_get_expr} prints it, or null for the root
     * @param key    {@code RANGE (...)}, {@code LIST (...)} or {@code HASH (...)} when it is itself
     *               partitioned ({@code pg_get_partkeydef}), else null
     */
    public record Partition(TableName parent, String bound, String key) {
    }

    /** The partitioned table this one is a partition of, or null. */
    public TableName parent() {
        return partition == null ? null : partition.parent();
    }

    public boolean partitioned() {
        return partition != null && partition.key() != null;
    }

    /** A named constraint and its definition as {@code pg_get_constraintdef} prints it. */
    public record Constraint(String name, String definition) {
        /** Added NOT VALID on the source: existing rows were never checked against it. */
        public boolean notValid() {
            return definition.endsWith(" NOT VALID");
        }
    }

    /** The CHECK constraints every row was checked against: created with the table. */
    public List<Constraint> validChecks() {
        return checks.stream().filter(c -> !c.notValid()).toList();
    }

    /** The columns whose values travel in the load: generated columns are computed by the target. */
    public List<Column> copiedColumns() {
        return columns.stream().filter(c -> !c.generated()).toList();
    }
}
