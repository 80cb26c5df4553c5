package io.pgmesh.pg;

/** A table as PostgreSQL names it: unquoted catalog names of schema and relation. */
public record TableName(String schema, String name) implements Comparable<TableName> {

    public String quoted() {
        return Ident.qualified(schema, name);
    }

    @Override
    public String toString() {
        return schema + '.' + name;
    }

    @Override
    public int compareTo(TableName o) {
        return toString().compareTo(o.toString());
    }
}
