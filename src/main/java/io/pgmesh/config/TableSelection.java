package io.pgmesh.config;

import java.util.List;

/**
 * Which tables the mesh replicates: glob patterns over {@code schema.table}.
 *
 * <p>A table is selected when some {@code include} pattern matches it and no {@code exclude}
 * pattern does. In a pattern {@code *} matches any run of characters (the dot included) and
 * {@code ?} matches exactly one; everything else matches itself. Matching is case-sensitive
 * against the names as stored in the catalog ({@code pg_class.relname}), without quotes.
 *
 * @param include patterns of tables to replicate
 * @param exclude patterns of tables to leave out even when included
 */
public record TableSelection(List<String> include, List<String> exclude) {

    private static final TableSelection DEFAULTS = new TableSelection(List.of("public.*"), List.of());

    public TableSelection {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
    }

    /** Every table of the {@code public} schema: include {@code public.*}, exclude nothing. */
    public static TableSelection defaults() {
        return DEFAULTS;
    }

    /** True when {@code schema.table} is included by some pattern and excluded by none. */
    public boolean matches(String schema, String table) {
        String name = schema + "." + table;
        return anyMatches(include, name) && !anyMatches(exclude, name);
    }

    /** {@code include} as SQL LIKE patterns (escape {@code \\}), matching what {@link #matches} does. */
    public List<String> includeLike() {
        return include.stream().map(TableSelection::like).toList();
    }

    /** {@code exclude} as SQL LIKE patterns. */
    public List<String> excludeLike() {
        return exclude.stream().map(TableSelection::like).toList();
    }

    /**
     * LIKE patterns over schema names: the schemas some include pattern can select a table in. A
     * pattern's schema is what comes before its first dot; one without a dot may match any schema.
     */
    public List<String> schemaLike() {
        return include.stream().map(p -> p.indexOf('.') < 0 ? "%" : like(p.substring(0, p.indexOf('.')))).distinct().toList();
    }

    static String like(String glob) {
        StringBuilder b = new StringBuilder();
        glob.codePoints().forEach(c -> {
            switch (c) {
                case '*' -> b.append('%');
                case '?' -> b.append('_');
                case '%', '_', '\\' -> b.append('\\').appendCodePoint(c);
                default -> b.appendCodePoint(c);
            }
        });
        return b.toString();
    }

    private static boolean anyMatches(List<String> patterns, String name) {
        for (String pattern : patterns) {
            if (globMatches(pattern, name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Glob matching by walking both strings once, remembering the last {@code *} to backtrack
     * to; works on code points so that {@code ?} matches one character outside the BMP too.
     */
    static boolean globMatches(String pattern, String text) {
        int[] p = pattern.codePoints().toArray();
        int[] t = text.codePoints().toArray();
        int pi = 0;
        int ti = 0;
        int starAt = -1;
        int starText = 0;
        while (ti < t.length) {
            if (pi < p.length && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti]))) {
                pi++;
                ti++;
            } else if (pi < p.length && p[pi] == '*') {
                starAt = pi++;
                starText = ti;
            } else if (starAt >= 0) {
                pi = starAt + 1;
                ti = ++starText;
            } else {
                return false;
            }
        }
        while (pi < p.length && p[pi] == '*') {
            pi++;
        }
        return pi == p.length;
    }
}
