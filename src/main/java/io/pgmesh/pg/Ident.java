package io.pgmesh.pg;

/** Quoting of SQL identifiers and literals; every name pgmesh puts into SQL text goes through here. */
public final class Ident {
    private Ident() {
    }

    public static String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    public static String qualified(String schema, String name) {
        return quote(schema) + '.' + quote(name);
    }

    /** A string literal; valid because every pgmesh session runs with standard_conforming_strings on. */
    public static String literal(String value) {
        return '\'' + value.replace("'", "''") + '\'';
    }
}
