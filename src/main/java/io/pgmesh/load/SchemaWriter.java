package io.pgmesh.load;

import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Creates on the target the tables the initial load needs, in two halves: before the rows, what a
 * row needs to be stored (schemas, types, sequences, columns, defaults, NOT NULL, CHECK); after the
 * rows, what is cheaper to build once over all of them (keys, indexes, then foreign keys).
 */
public final class SchemaWriter {

    private SchemaWriter() {
    }

    /** Statements that make the missing {@code tables}, with the types and sequences they use, exist. */
    public static List<String> beforeRows(List<TableDefinition> tables, List<SchemaReader.TypeDefinition> types,
                                          List<SchemaReader.SequenceDefinition> sequences, Connection target)
            throws SQLException, LoadException {
        List<String> ddl = new ArrayList<>();
        Set<String> schemas = new TreeSet<>();
        tables.forEach(t -> schemas.add(t.name().schema()));
        types.forEach(t -> schemas.add(t.name().schema()));
        sequences.forEach(s -> schemas.add(s.name().schema()));
        for (String schema : schemas) {
            ddl.add("CREATE SCHEMA IF NOT EXISTS " + Ident.quote(schema));
        }
        for (SchemaReader.TypeDefinition type : types) {
            if (Sql.queryBool(target, "SELECT to_regtype(?) IS NOT NULL", type.name().quoted())) {
                continue;
            }
            if (type.extension() != null) {
                throw new LoadException("type " + type.name() + " comes from extension " + type.extension()
                        + ", which the target lacks: run CREATE EXTENSION " + type.extension() + " there first");
            }
            ddl.add(switch (type.kind()) {
                case 'e' -> "CREATE TYPE " + type.name().quoted() + " AS ENUM (" + type.body() + ")";
                case 'd' -> "CREATE DOMAIN " + type.name().quoted() + " AS " + type.body();
                case 'r' -> "CREATE TYPE " + type.name().quoted() + " AS RANGE (" + type.body() + ")";
                case 'c' -> "CREATE TYPE " + type.name().quoted() + " AS (" + type.body() + ")";
                default -> throw new LoadException("type " + type.name() + " (a base type, or the row type of a"
                        + " table) cannot be created by pgmesh: create it on the target first");
            });
        }
        for (SchemaReader.SequenceDefinition s : sequences) {
            ddl.add("CREATE SEQUENCE IF NOT EXISTS " + s.name().quoted() + " AS " + s.dataType()
                    + " INCREMENT " + s.increment() + " MINVALUE " + s.min() + " MAXVALUE " + s.max()
                    + " START " + s.start() + " CACHE " + s.cache() + (s.cycle() ? " CYCLE" : " NO CYCLE"));
        }
        for (TableDefinition t : tables) {
            ddl.add(createTable(t));
            if (t.partitioned()) {
                // Before its partitions exist: they then get the keys and indexes as they are attached.
                // A partitioned table holds no rows of its own, so nothing is gained by waiting.
                ddl.addAll(afterRows(t));
            }
        }
        // So that dropping the table, or the column, drops its sequence, as on the source.
        List<TableName> created = names(tables);
        for (SchemaReader.SequenceDefinition s : sequences) {
            if (s.ownerTable() != null && created.contains(s.ownerTable())) {
                ddl.add("ALTER SEQUENCE " + s.name().quoted() + " OWNED BY " + s.ownerTable().quoted() + "."
                        + Ident.quote(s.ownerColumn()));
            }
        }
        return ddl;
    }

    static String createTable(TableDefinition t) {
        TableDefinition.Partition p = t.partition();
        String partitionBy = t.partitioned() ? " PARTITION BY " + p.key() : "";
        if (p != null && p.parent() != null) {
            // Columns, defaults, NOT NULL and the inherited constraints come from the parent.
            List<String> checks = t.validChecks().stream()
                    .map(c -> "CONSTRAINT " + Ident.quote(c.name()) + " " + c.definition()).toList();
            return "CREATE TABLE " + t.name().quoted() + " PARTITION OF " + p.parent().quoted()
                    + (checks.isEmpty() ? "" : " (\n    " + String.join(",\n    ", checks) + "\n)")
                    + " " + p.bound() + partitionBy;
        }
        List<String> parts = new ArrayList<>();
        for (TableDefinition.Column c : t.columns()) {
            StringBuilder col = new StringBuilder(Ident.quote(c.name())).append(' ').append(c.type());
            if (c.collation() != null) {
                col.append(" COLLATE ").append(c.collation());
            }
            if (c.generated()) {
                col.append(" GENERATED ALWAYS AS (").append(c.generatedExpr()).append(c.virtual() ? ") VIRTUAL" : ") STORED");
            } else if (c.identity() != 0) {
                col.append(c.identity() == 'a' ? " GENERATED ALWAYS AS IDENTITY" : " GENERATED BY DEFAULT AS IDENTITY");
                if (c.identityOptions() != null) {
                    col.append(" (").append(c.identityOptions()).append(')');
                }
            } else if (c.defaultExpr() != null) {
                col.append(" DEFAULT ").append(c.defaultExpr());
            }
            if (c.notNull()) {
                col.append(" NOT NULL");
            }
            parts.add(col.toString());
        }
        for (TableDefinition.Constraint check : t.validChecks()) {
            parts.add("CONSTRAINT " + Ident.quote(check.name()) + " " + check.definition());
        }
        return "CREATE TABLE " + t.name().quoted() + " (\n    " + String.join(",\n    ", parts) + "\n)" + partitionBy;
    }

    /** Keys, indexes and the replica identity of one loaded table, built over its rows. */
    public static List<String> afterRows(TableDefinition t) {
        List<String> ddl = new ArrayList<>();
        for (TableDefinition.Constraint check : t.checks()) {
            if (check.notValid()) {
                ddl.add("ALTER TABLE " + t.name().quoted() + " ADD CONSTRAINT " + Ident.quote(check.name()) + " "
                        + check.definition());
            }
        }
        for (TableDefinition.Constraint key : t.keys()) {
            ddl.add("ALTER TABLE " + t.name().quoted() + " ADD CONSTRAINT " + Ident.quote(key.name()) + " " + key.definition());
        }
        ddl.addAll(t.indexes());
        switch (t.replicaIdentity()) {
            case 'f' -> ddl.add("ALTER TABLE " + t.name().quoted() + " REPLICA IDENTITY FULL");
            case 'n' -> ddl.add("ALTER TABLE " + t.name().quoted() + " REPLICA IDENTITY NOTHING");
            case 'i' -> ddl.add("ALTER TABLE " + t.name().quoted() + " REPLICA IDENTITY USING INDEX "
                    + Ident.quote(t.identityIndex()));
            default -> {
                // the default identity (the primary key) needs no statement
            }
        }
        return ddl;
    }

    /** Foreign keys of the created tables: last, when every referenced row is in. */
    public static List<String> foreignKeys(List<TableDefinition> tables) {
        List<String> ddl = new ArrayList<>();
        for (TableDefinition t : tables) {
            for (TableDefinition.Constraint fk : t.foreignKeys()) {
                ddl.add("ALTER TABLE " + t.name().quoted() + " ADD CONSTRAINT " + Ident.quote(fk.name()) + " " + fk.definition());
            }
        }
        return ddl;
    }

    /** Table names, for messages. */
    static List<TableName> names(List<TableDefinition> tables) {
        return tables.stream().map(TableDefinition::name).toList();
    }
}
