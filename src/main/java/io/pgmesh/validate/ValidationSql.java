package io.pgmesh.validate;

import io.pgmesh.pg.Ident;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders the queries that compare a table; pure, tested by string equality. Every node computes
 * the same texts: {@code kh} is the md5 of the key's text, {@code rh} the md5 of the compared
 * columns' text in name order, and a bucket is the first {@code digits} hex digits of {@code kh}.
 * A multiset table's key is its whole row, so there {@code kh} is {@code rh}.
 */
public final class ValidationSql {
    /** Characters of a multiset row shown in a report: enough to recognise it, never a whole TOASTed value. */
    static final int SAMPLE_CHARS = 200;
    /**
     * Membership in a text[] parameter of up to tens of thousands of values, tested once per row of
     * a big table: as a subquery it is hashed, where {@code = ANY (?)} may compare with every element.
     */
    private static final String IN_PARAMETER = " IN (SELECT unnest(?::text[]))";

    private ValidationSql() {
    }

    /** {@code ROW(t."a", t."b")::text}. */
    static String rowText(List<String> columns) {
        return "ROW(" + columns.stream().map(c -> "t." + Ident.quote(c)).collect(Collectors.joining(", ")) + ")::text";
    }

    /** Level 1: one row per bucket: bucket, count, sum of the first and of the second 64 bits of rh. */
    public static String bucketSummaries(TableShape s, int digits) {
        return "SELECT substr(kh, 1, " + digits + ") AS bucket, count(*),"
                + " sum(('x' || substr(rh, 1, 16))::bit(64)::bigint), sum(('x' || substr(rh, 17, 16))::bit(64)::bigint)"
                + " FROM (" + hashes(s) + ") s GROUP BY 1";
    }

    private static String hashes(TableShape s) {
        String from = " FROM " + s.table().quoted() + " t";
        if (s.keyed()) {
            return "SELECT md5(" + rowText(s.key()) + ") AS kh, md5(" + rowText(s.columns()) + ") AS rh" + from;
        }
        return "SELECT kh, kh AS rh FROM (SELECT md5(" + rowText(s.columns()) + ") AS kh" + from + ") s0";
    }

    /**
     * Level 2: the rows of the buckets given as parameter 1 (a text[]), in {@link RowEntry#ORDER}.
     * Keyed: kh, kt, each key column as text, rh. Multiset: kh, then how many rows have it.
     */
    public static String bucketRows(TableShape s, int digits) {
        String from = " FROM " + s.table().quoted() + " t";
        if (!s.keyed()) {
            return "SELECT kh, count(*) FROM (SELECT md5(" + rowText(s.columns()) + ") AS kh" + from + ") s"
                    + " WHERE substr(kh, 1, " + digits + ")" + IN_PARAMETER + " GROUP BY kh ORDER BY kh COLLATE \"C\"";
        }
        StringBuilder parts = new StringBuilder();
        for (int i = 0; i < s.key().size(); i++) {
            parts.append("t.").append(Ident.quote(s.key().get(i))).append("::text AS k").append(i).append(", ");
        }
        String partNames = java.util.stream.IntStream.range(0, s.key().size()).mapToObj(i -> "k" + i)
                .collect(Collectors.joining(", "));
        return "SELECT md5(kt) AS kh, kt, " + partNames + ", rh FROM (SELECT " + rowText(s.key()) + " AS kt, " + parts
                + "md5(" + rowText(s.columns()) + ") AS rh" + from + ") s WHERE substr(md5(kt), 1, " + digits
                + ")" + IN_PARAMETER + " ORDER BY md5(kt) COLLATE \"C\", kt COLLATE \"C\"";
    }

    /**
     * Re-reads keyed rows: parameter i+1 is a text[] of key column i's values; returns, per
     * position (1-based) in those arrays, the row's md5 (null when the node has no such row).
     *
     * @param keyTypes the node's type of each key column, to compare values as values and use its index
     */
    public static String recheckKeyed(TableShape s, List<String> keyTypes) {
        List<String> key = s.key();
        StringBuilder arrays = new StringBuilder();
        StringBuilder names = new StringBuilder();
        StringBuilder on = new StringBuilder();
        for (int i = 0; i < key.size(); i++) {
            arrays.append(i == 0 ? "" : ", ").append("?::text[]");
            names.append("v").append(i).append(", ");
            on.append(i == 0 ? "" : " AND ").append("t.").append(Ident.quote(key.get(i))).append(" = k.v").append(i)
                    .append("::").append(keyTypes.get(i));
        }
        // A key column is never NULL in a row, so NULL there means no row (and not a row of NULLs).
        return "SELECT k.ord, CASE WHEN t." + Ident.quote(key.get(0)) + " IS NULL THEN NULL ELSE md5("
                + rowText(s.columns()) + ") END FROM unnest(" + arrays + ") WITH ORDINALITY AS k("
                + names + "ord) LEFT JOIN " + s.table().quoted() + " t ON " + on;
    }

    /**
     * Re-reads multiset rows: parameter 1 is a text[] of row md5s; returns each md5 the node
     * holds, how many rows have it, and the start of one such row's text.
     */
    public static String recheckMultiset(TableShape s) {
        return "SELECT md5(r), count(*), left(min(r), " + SAMPLE_CHARS + ") FROM (SELECT " + rowText(s.columns())
                + " AS r FROM " + s.table().quoted() + " t) s WHERE md5(r)" + IN_PARAMETER + " GROUP BY 1";
    }
}
