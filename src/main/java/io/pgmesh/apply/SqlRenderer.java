package io.pgmesh.apply;

import io.pgmesh.pg.Errors;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.TableName;
import java.sql.SQLException;
import java.util.List;
import java.util.StringJoiner;

/**
 * Renders the statements of the applier. Pure: names in, SQL text out, with {@code $1..$n} for
 * the values in the order they appear. The applier PREPAREs each shape once and EXECUTEs it with
 * untyped literals, so PostgreSQL parses every value with the column's own input function: the
 * same representation the source printed.
 */
public final class SqlRenderer {

    private SqlRenderer() {
    }

    /**
     * True when the source of a change knew the row's current version when it made the change:
     * the version is its own ({@code originId}; also when the version's history is unknown, or it
     * was written earlier in this very transaction), or one it had applied (its origin and commit
     * time within what the source had seen, {@link SourceKnowledge}). Such a change is causally later
     * and applies without a conflict check.
     *
     * <p>{@code loadedThrough} is when an initial load from this origin's node finished on the
     * target, or null. Local rows committed by then were copied from that node inside the load's
     * snapshot, so every change streamed from it is newer than they are, whatever their commit
     * timestamps (which are the load's, later than the changes it races with) say.
     */
    public static String sameOriginGuard(int originId, String loadedThrough) {
        String v = "pg_xact_commit_timestamp_origin(xmin)";
        StringBuilder guard = new StringBuilder("(COALESCE((").append(v).append(").roident, ").append(originId)
                .append(") = ").append(originId);
        if (loadedThrough != null) {
            guard.append(" OR ((").append(v).append(").roident = 0 AND (").append(v).append(").\"timestamp\" <= ")
                    .append(Ident.literal(loadedThrough)).append("::timestamptz)");
        }
        // The table is read through a subquery, which has no xmin of its own: a bare xmin inside
        // the EXISTS would otherwise be the seen table's, not the row's.
        return guard.append(" OR EXISTS (SELECT FROM (SELECT roident, through FROM pg_temp.").append(SourceKnowledge.TABLE)
                .append(") s WHERE s.roident = (").append(v).append(").roident AND s.through >= (").append(v)
                .append(").\"timestamp\"))").toString();
    }

    /** INSERT; with conflict columns it does nothing on a key collision, which the caller sees as 0 rows. */
    public static String insert(TableName table, List<String> columns, List<String> conflictColumns) {
        return insertRows(table, columns, 1, conflictColumns);
    }

    /** INSERT of {@code rows} rows at once, their values numbered row after row. */
    public static String insertRows(TableName table, List<String> columns, int rows, List<String> conflictColumns) {
        Params p = new Params();
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(table.quoted()).append(" (")
                // The source's value wins over a GENERATED ALWAYS identity, as in PostgreSQL's own apply.
                .append(columnList(columns)).append(") OVERRIDING SYSTEM VALUE VALUES ");
        for (int r = 0; r < rows; r++) {
            sql.append(r == 0 ? "(" : ", (").append(p.list(columns.size())).append(')');
        }
        if (!conflictColumns.isEmpty()) {
            sql.append(" ON CONFLICT (").append(columnList(conflictColumns)).append(") DO NOTHING");
        }
        return sql.toString();
    }

    /** UPDATE of the row with the given key; {@code guard} (nullable) is ANDed to the key match. */
    public static String update(TableName table, List<String> setColumns, List<String> keyColumns, String guard) {
        Params p = new Params();
        return "UPDATE " + table.quoted() + " SET " + assignments(setColumns, p)
                + " WHERE " + keyMatch(keyColumns, p) + (guard == null ? "" : " AND " + guard);
    }

    /**
     * An UPDATE that changes the key: it moves the row only when no conflict is possible, that is
     * when the row at the old key passes {@code guard}, the new key is free, and (with tombstones)
     * no change of another origin deleted the new key here. Parameters: the SET values, then the
     * old key, then the new key. Any other case touches no row, and the careful path weighs the
     * change as what it is for conflicts: a delete of the old key and an insert of the new one.
     */
    public static String rekey(TableName table, List<String> setColumns, List<String> keyColumns, String guard,
                               TableName tombstones) {
        Params p = new Params();
        String set = assignments(setColumns, p);
        String oldKey = keyMatch(keyColumns, p);
        String newKey = keyMatch(keyColumns, p);
        StringBuilder sql = new StringBuilder("UPDATE ").append(table.quoted()).append(" SET ").append(set)
                .append(" WHERE ").append(oldKey);
        if (guard != null) {
            sql.append(" AND ").append(guard);
        }
        sql.append(" AND NOT EXISTS (SELECT FROM ").append(table.quoted()).append(" WHERE ").append(newKey).append(')');
        if (tombstones != null && guard != null) {
            // Unqualified, the guard's xmin is the tombstone's here: the innermost FROM wins.
            sql.append(" AND NOT EXISTS (SELECT FROM ").append(tombstones.quoted()).append(" WHERE ").append(newKey)
                    .append(" AND NOT ").append(guard).append(')');
        }
        return sql.toString();
    }

    /** UPDATE of one row (of possibly several equal ones) matched on all old values. */
    public static String updateOneMatching(TableName table, List<String> setColumns, List<String> matchColumns) {
        Params p = new Params();
        String set = assignments(setColumns, p);
        return "UPDATE " + table.quoted() + " SET " + set + " WHERE ctid = (" + oneMatching(table, matchColumns, p) + ")";
    }

    public static String delete(TableName table, List<String> keyColumns, String guard) {
        return "DELETE FROM " + table.quoted() + " WHERE " + keyMatch(keyColumns, new Params())
                + (guard == null ? "" : " AND " + guard);
    }

    /** DELETE of exactly one row among equal ones: a source DELETE removed one row, not all its twins. */
    public static String deleteOneMatching(TableName table, List<String> matchColumns) {
        return "DELETE FROM " + table.quoted() + " WHERE ctid = (" + oneMatching(table, matchColumns, new Params()) + ")";
    }

    /** The local row with its image, commit time and origin, locked for the resolution that follows. */
    public static String selectLocalRow(TableName table, List<String> keyColumns, boolean withOrigin) {
        String from = " FROM " + table.quoted() + " AS pgmesh_row WHERE " + keyMatch(keyColumns, new Params()) + " FOR UPDATE";
        if (!withOrigin) {
            // before PostgreSQL 14 only the commit time is known; the writer is taken to be local
            return "SELECT to_jsonb(pgmesh_row)::text, pg_xact_commit_timestamp(pgmesh_row.xmin), 0" + from;
        }
        return "SELECT r.img::text, (r.o).\"timestamp\", (r.o).roident FROM (SELECT to_jsonb(pgmesh_row) AS img,"
                + " pg_xact_commit_timestamp_origin(pgmesh_row.xmin) AS o" + from + ") r";
    }

    /**
     * Wraps a data-changing statement so that it fails (division by zero) unless it changed
     * exactly one row. Many such statements, several transactions' worth, travel in one query:
     * the first that meets a conflict aborts its transaction and the server skips the rest, which
     * the applier then replays one statement at a time.
     */
    public static String expectOneRow(String dml) {
        return "WITH w AS (" + dml + " RETURNING 1) INSERT INTO pg_temp." + SINK + " SELECT FROM w HAVING 1 / (count(*) = 1)::int = 0";
    }

    /**
     * Wraps an INSERT (without ON CONFLICT) into a table with tombstones so that it fails when a
     * key it inserted was deleted here by a change that {@code guard}, applied to the tombstone's
     * xmin, does not accept as the task's own: the careful replay then weighs the insert against
     * that delete.
     */
    public static String expectNotDeleted(String insert, TableName tombstones, List<String> keyColumns, String guard) {
        String key = columnList(keyColumns);
        return "WITH w AS (" + insert + " RETURNING " + key + ") INSERT INTO pg_temp." + SINK
                + " SELECT FROM w HAVING 1 / (NOT EXISTS (SELECT FROM " + tombstones.quoted()
                + " WHERE (" + key + ") IN (SELECT " + key + " FROM w) AND NOT " + guard + "))::int = 0";
    }

    /**
     * The check of {@link #expectNotDeleted} for the keys of a COPY run: fails when a tombstone of
     * another origin (by {@code guard} on its xmin) holds one of the keys, given as one array per
     * key column ({@code $1..$n}, typed by the comparison). With several key columns it matches
     * each column against its own array, a superset of the keys: a false alarm costs a careful
     * replay, never a missed conflict.
     */
    public static String expectNoneDeletedAmong(TableName tombstones, List<String> keyColumns, String guard) {
        Params p = new Params();
        StringJoiner where = new StringJoiner(" AND ");
        keyColumns.forEach(c -> where.add(Ident.quote(c) + " = ANY (" + p.next() + ")"));
        return "INSERT INTO pg_temp." + SINK + " SELECT FROM " + tombstones.quoted() + " WHERE " + where + " AND NOT "
                + guard + " HAVING 1 / (count(*) = 0)::int = 0";
    }

    /**
     * Why a strict statement failed, in words: the wrappers above fail by dividing by zero, which
     * the server reports as such, so that case is named for what it means. (A division by zero of
     * the table's own, in a CHECK constraint say, reads the same; the careful replay that follows
     * reports it as it is.)
     */
    public static String describeStrictFailure(SQLException e) {
        return "22012".equals(e.getSQLState()) // division_by_zero
                ? "a change did not find its row as it expected, a key it inserts was deleted here, or it cannot"
                        + " be applied as sent"
                : Errors.describe(e);
    }

    /** A statement that always fails: it makes a strict batch hand a change pgmesh cannot apply to the careful replay. */
    public static final String UNRESOLVABLE = "SELECT 1 / 0 AS pgmesh_unresolvable_change";

    /** Whether the key was deleted here by a change that {@code guard} does not accept as the task's own. */
    public static String deletedByOther(TableName tombstones, List<String> keyColumns, String guard) {
        return "SELECT 1 FROM " + tombstones.quoted() + " WHERE " + keyMatch(keyColumns, new Params()) + " AND NOT " + guard;
    }

    /** The commit time and origin of the delete that removed the key, from its tombstone. */
    public static String selectTombstone(TableName tombstones, List<String> keyColumns, boolean withOrigin) {
        String where = " FROM " + tombstones.quoted() + " WHERE " + keyMatch(keyColumns, new Params()) + " FOR UPDATE";
        if (!withOrigin) {
            return "SELECT pg_xact_commit_timestamp(xmin), 0" + where;
        }
        return "SELECT (o).\"timestamp\", (o).roident FROM (SELECT pg_xact_commit_timestamp_origin(xmin) AS o" + where + ") t";
    }

    /** Records a delete of the key as this transaction's (a newer version of the tombstone if there is one). */
    public static String upsertTombstone(TableName tombstones, List<String> keyColumns) {
        String first = Ident.quote(keyColumns.get(0));
        return "INSERT INTO " + tombstones.quoted() + " (" + columnList(keyColumns) + ") VALUES ("
                + new Params().list(keyColumns.size()) + ") ON CONFLICT (" + columnList(keyColumns) + ") DO UPDATE SET "
                + first + " = EXCLUDED." + first;
    }

    /**
     * Records the lineage ({@link io.pgmesh.causal.Lineage}) of the key's version that this
     * transaction wrote: parameters the key, then the lineage's text.
     */
    public static String upsertLineage(TableName lineage, List<String> keyColumns) {
        String key = columnList(keyColumns);
        return "INSERT INTO " + lineage.quoted() + " (" + key + ", ancestors) VALUES ("
                + new Params().list(keyColumns.size() + 1) + ") ON CONFLICT (" + key + ") DO UPDATE SET"
                + " ancestors = EXCLUDED.ancestors";
    }

    /**
     * Whether this transaction wrote the key's row or its tombstone: a version not yet committed
     * is visible to no other. Parameters: the key, twice when there are tombstones.
     */
    public static String writtenHere(TableName table, TableName tombstones, List<String> keyColumns) {
        Params p = new Params();
        String uncommitted = " AND (pg_xact_commit_timestamp_origin(xmin)).\"timestamp\" IS NULL)";
        String sql = "SELECT EXISTS (SELECT FROM " + table.quoted() + " WHERE " + keyMatch(keyColumns, p) + uncommitted;
        return tombstones == null ? sql
                : sql + " OR EXISTS (SELECT FROM " + tombstones.quoted() + " WHERE " + keyMatch(keyColumns, p) + uncommitted;
    }

    /**
     * The commit time and origin of the key's local version as it stands: its row's, or without
     * one its tombstone's. Parameters: the key, twice when there are tombstones.
     */
    public static String currentVersion(TableName table, TableName tombstones, List<String> keyColumns) {
        Params p = new Params();
        String row = "SELECT (o).\"timestamp\", (o).roident, 1 AS pick FROM (SELECT pg_xact_commit_timestamp_origin(xmin) AS o"
                + " FROM " + table.quoted() + " WHERE " + keyMatch(keyColumns, p) + ") r";
        if (tombstones == null) {
            return row;
        }
        return row + " UNION ALL SELECT (o).\"timestamp\", (o).roident, 2 FROM (SELECT pg_xact_commit_timestamp_origin(xmin)"
                + " AS o FROM " + tombstones.quoted() + " WHERE " + keyMatch(keyColumns, p) + ") t ORDER BY pick LIMIT 1";
    }

    /** The lineage of the key's local version, with the commit time and origin of the version it belongs to. */
    public static String selectLineage(TableName lineage, List<String> keyColumns) {
        return "SELECT ancestors, (o).\"timestamp\", (o).roident FROM (SELECT ancestors,"
                + " pg_xact_commit_timestamp_origin(xmin) AS o FROM " + lineage.quoted() + " WHERE "
                + keyMatch(keyColumns, new Params()) + ") l";
    }

    /** A column-less temporary table: the target of {@link #expectOneRow}, which never writes a row to it. */
    public static final String SINK = "pgmesh_sink";

    /**
     * Never with CASCADE, whatever the source did: PostgreSQL's own apply worker does not cascade
     * either, and a cascade here could empty a table of the target that is not replicated. A table
     * that another one references then fails the statement, as an unresolvable change.
     */
    public static String truncate(List<TableName> tables, boolean restartIdentity) {
        StringJoiner names = new StringJoiner(", ");
        tables.forEach(t -> names.add(t.quoted()));
        return "TRUNCATE " + names + (restartIdentity ? " RESTART IDENTITY" : "");
    }

    private static String oneMatching(TableName table, List<String> matchColumns, Params p) {
        StringJoiner where = new StringJoiner(" AND ");
        // Compared as text so that types without an equality operator (json, point) match too.
        matchColumns.forEach(c -> where.add(Ident.quote(c) + "::text IS NOT DISTINCT FROM " + p.next()));
        return "SELECT ctid FROM " + table.quoted() + " WHERE " + where + " LIMIT 1 FOR UPDATE";
    }

    private static String keyMatch(List<String> keyColumns, Params p) {
        StringJoiner where = new StringJoiner(" AND ");
        keyColumns.forEach(c -> where.add(Ident.quote(c) + " = " + p.next()));
        return where.toString();
    }

    private static String assignments(List<String> columns, Params p) {
        StringJoiner set = new StringJoiner(", ");
        columns.forEach(c -> set.add(Ident.quote(c) + " = " + p.next()));
        return set.toString();
    }

    private static String columnList(List<String> columns) {
        StringJoiner list = new StringJoiner(", ");
        columns.forEach(c -> list.add(Ident.quote(c)));
        return list.toString();
    }

    /** Numbers parameters in the order they are written. */
    private static final class Params {
        private int n;

        String next() {
            return "$" + (++n);
        }

        String list(int count) {
            StringJoiner list = new StringJoiner(", ");
            for (int i = 0; i < count; i++) {
                list.add(next());
            }
            return list.toString();
        }
    }
}
