package io.pgmesh.load;

import io.pgmesh.pg.ColumnSequences;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads, on the load's source, what it takes to create a table and the types and sequences it
 * uses on an empty node. Runs inside the load's snapshot, so the shape matches the rows copied.
 */
public final class SchemaReader {
    private static final String COLUMNS = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
                   CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                        THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname)
                                FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
                               WHERE co.oid = a.attcollation) END,
                   (SELECT format('INCREMENT %%s MINVALUE %%s MAXVALUE %%s START %%s CACHE %%s%%s', s.seqincrement,
                                  s.seqmin, s.seqmax, s.seqstart, s.seqcache,
                                  CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
                      FROM pg_sequence s
                     WHERE a.attidentity <> '' AND s.seqrelid = (SELECT seqid FROM (
                            SELECT d.objid AS seqid, d.deptype FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                               AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
                            UNION ALL %s) q LIMIT 1))
              FROM pg_attribute a
              JOIN pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum""".formatted(ColumnSequences.ancestorIdentity("a.attrelid", "a"));
    /**
     * The table's constraints; of a partition only its own, not those it has from its parent. (A
     * child of plain inheritance keeps its inherited CHECKs: init creates it as a table of its own.)
     */
    private static final String CONSTRAINTS = """
            SELECT con.conname, con.contype::text, pg_get_constraintdef(con.oid)
              FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
             WHERE con.conrelid = ?::regclass AND con.contype IN ('c', 'p', 'u', 'x', 'f')
               AND NOT (c.relispartition AND (con.conparentid <> 0 OR NOT con.conislocal))
             ORDER BY con.contype, con.conname""";
    /** The table's own indexes that back no constraint: not those attached to a parent's index. */
    private static final String INDEXES = """
            SELECT pg_get_indexdef(i.indexrelid)
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = ?::regclass AND NOT ic.relispartition
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
             ORDER BY i.indexrelid""";
    private static final String TABLE = """
            SELECT c.relreplident::text,
                   (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                     WHERE i.indrelid = c.oid AND i.indisreplident),
                   GREATEST(c.reltuples, 0)::bigint, pg_relation_size(c.oid),
                   pn.nspname, pc.relname, pg_get_expr(c.relpartbound, c.oid),
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
              FROM pg_class c
              LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
              LEFT JOIN pg_class pc ON pc.oid = i.inhparent
              LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
             WHERE c.oid = ?::regclass""";
    /**
     * User-defined types of the columns (arrays resolved to their element) and the types those are
     * made of (a domain's base, a range's subtype, a composite's fields), in dependency-free order.
     * The row type of a table reports as kind {@code t}: only its table can make it.
     */
    private static final String TYPES = """
            WITH RECURSIVE used(oid) AS (
                SELECT DISTINCT CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END
                  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = ANY (?::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
                UNION
                SELECT x.dep FROM used u JOIN pg_type t ON t.oid = u.oid,
                       LATERAL (SELECT t.typbasetype
                                UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
                                UNION ALL SELECT CASE WHEN ft.typelem <> 0 AND ft.typlen = -1 THEN ft.typelem ELSE ft.oid END
                                            FROM pg_class tc
                                            JOIN pg_attribute fa ON fa.attrelid = tc.oid AND fa.attnum > 0
                                                                AND NOT fa.attisdropped
                                            JOIN pg_type ft ON ft.oid = fa.atttypid
                                           WHERE t.typtype = 'c' AND tc.oid = t.typrelid AND tc.relkind = 'c') x(dep)
                 WHERE x.dep IS NOT NULL AND x.dep <> 0
            )
            SELECT n.nspname, t.typname,
                   CASE WHEN t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) <> 'c' THEN 't'
                        ELSE t.typtype::text END,
                   CASE t.typtype
                     WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                      FROM pg_enum e WHERE e.enumtypid = t.oid)
                     WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                       || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                       || COALESCE(' DEFAULT ' || t.typdefault, '')
                       || COALESCE((SELECT ' ' || string_agg('CONSTRAINT ' || quote_ident(c.conname) || ' '
                                          || pg_get_constraintdef(c.oid), ' ' ORDER BY c.conname)
                                      FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'), '')
                     WHEN 'r' THEN (SELECT 'SUBTYPE = ' || format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
                     WHEN 'c' THEN (SELECT string_agg(quote_ident(fa.attname) || ' ' || format_type(fa.atttypid, fa.atttypmod)
                                          || CASE WHEN fa.attcollation <> ft.typcollation AND fa.attcollation <> 0
                                                  THEN ' COLLATE ' || fa.attcollation::regcollation::text ELSE '' END,
                                          ', ' ORDER BY fa.attnum)
                                      FROM pg_attribute fa JOIN pg_type ft ON ft.oid = fa.atttypid
                                     WHERE fa.attrelid = t.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped)
                   END,
                   (SELECT e.extname FROM pg_depend dp JOIN pg_extension e ON e.oid = dp.refobjid
                     WHERE dp.classid = 'pg_type'::regclass AND dp.objid = t.oid AND dp.deptype = 'e')
              FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
             ORDER BY t.typtype <> 'e', t.oid""";
    /**
     * Sequences the tables' columns own (serial; with the owning column) or their defaults use
     * (identity sequences come with their columns).
     */
    private static final String SEQUENCES = """
            SELECT DISTINCT s.schemaname, s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,
                   s.increment_by, s.cycle, s.cache_size, tn.nspname, tc.relname, a.attname
              FROM pg_depend dp
              JOIN pg_class sc ON sc.oid = dp.objid AND sc.relkind = 'S'
              JOIN pg_namespace n ON n.oid = sc.relnamespace
              JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = sc.relname
              JOIN pg_class tc ON tc.oid = dp.refobjid
              JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              JOIN pg_attribute a ON a.attrelid = dp.refobjid AND a.attnum = dp.refobjsubid
             WHERE dp.classid = 'pg_class'::regclass AND dp.refobjid = ANY (?::regclass[]) AND dp.deptype = 'a'
            UNION
            SELECT DISTINCT s.schemaname, s.sequencename, s.data_type::text, s.start_value, s.min_value, s.max_value,
                   s.increment_by, s.cycle, s.cache_size, NULL, NULL, NULL
              FROM pg_attrdef ad
              JOIN pg_depend dp ON dp.classid = 'pg_attrdef'::regclass AND dp.objid = ad.oid
                               AND dp.refclassid = 'pg_class'::regclass
              JOIN pg_class sc ON sc.oid = dp.refobjid AND sc.relkind = 'S'
              JOIN pg_namespace n ON n.oid = sc.relnamespace
              JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = sc.relname
             WHERE ad.adrelid = ANY (?::regclass[])""";

    /** A user-defined type a table uses: enum, domain or range, with what CREATE TYPE needs. */
    public record TypeDefinition(TableName name, char kind, String body, String extension) {
    }

    /**
     * A sequence a table's default uses or a serial column owns.
     *
     * @param ownerTable  the table of the column that owns it (OWNED BY), or null
     * @param ownerColumn that column, or null
     */
    public record SequenceDefinition(TableName name, String dataType, long start, long min, long max, long increment,
                                     boolean cycle, long cache, TableName ownerTable, String ownerColumn) {
    }

    private final Connection conn;

    public SchemaReader(Connection conn) {
        this.conn = conn;
    }

    public TableDefinition table(TableName t) throws SQLException {
        List<TableDefinition.Column> columns = new ArrayList<>();
        try (ResultSet rs = query(COLUMNS, t.quoted())) {
            while (rs.next()) {
                String identity = rs.getString(5);
                String generated = rs.getString(6);
                boolean isGenerated = generated != null && !generated.isEmpty();
                columns.add(new TableDefinition.Column(rs.getString(1), rs.getString(2), rs.getBoolean(3),
                        isGenerated ? null : rs.getString(4), identity == null || identity.isEmpty() ? 0 : identity.charAt(0),
                        isGenerated ? rs.getString(4) : null, rs.getString(7), "v".equals(generated), rs.getString(8)));
            }
        }
        List<TableDefinition.Constraint> checks = new ArrayList<>();
        List<TableDefinition.Constraint> keys = new ArrayList<>();
        List<TableDefinition.Constraint> foreign = new ArrayList<>();
        try (ResultSet rs = query(CONSTRAINTS, t.quoted())) {
            while (rs.next()) {
                var c = new TableDefinition.Constraint(rs.getString(1), rs.getString(3));
                switch (rs.getString(2)) {
                    case "c" -> checks.add(c);
                    case "f" -> foreign.add(c);
                    default -> keys.add(c);
                }
            }
        }
        List<String> indexes = new ArrayList<>();
        try (ResultSet rs = query(INDEXES, t.quoted())) {
            while (rs.next()) {
                indexes.add(rs.getString(1));
            }
        }
        try (ResultSet rs = query(TABLE, t.quoted())) {
            rs.next();
            TableName parent = rs.getString(5) == null ? null : new TableName(rs.getString(5), rs.getString(6));
            TableDefinition.Partition partition = parent == null && rs.getString(8) == null ? null
                    : new TableDefinition.Partition(parent, rs.getString(7), rs.getString(8));
            return new TableDefinition(t, columns, checks, keys, foreign, indexes, rs.getString(1).charAt(0),
                    rs.getString(2), rs.getLong(3), rs.getLong(4), partition);
        }
    }

    public List<TypeDefinition> types(List<TableName> tables) throws SQLException {
        List<TypeDefinition> types = new ArrayList<>();
        try (ResultSet rs = query(TYPES, regclasses(tables))) {
            while (rs.next()) {
                types.add(new TypeDefinition(new TableName(rs.getString(1), rs.getString(2)), rs.getString(3).charAt(0),
                        rs.getString(4), rs.getString(5)));
            }
        }
        return types;
    }

    public List<SequenceDefinition> sequences(List<TableName> tables) throws SQLException {
        Map<TableName, SequenceDefinition> seqs = new LinkedHashMap<>();
        String arr = regclasses(tables);
        try (ResultSet rs = query(SEQUENCES, arr, arr)) {
            while (rs.next()) {
                TableName name = new TableName(rs.getString(1), rs.getString(2));
                TableName owner = rs.getString(10) == null ? null : new TableName(rs.getString(10), rs.getString(11));
                SequenceDefinition s = new SequenceDefinition(name, rs.getString(3), rs.getLong(4), rs.getLong(5),
                        rs.getLong(6), rs.getLong(7), rs.getBoolean(8), rs.getLong(9), owner, rs.getString(12));
                // A serial's sequence is both owned and used by a default: the row that names its owner counts.
                seqs.merge(name, s, (seen, next) -> seen.ownerTable() != null ? seen : next);
            }
        }
        return List.copyOf(seqs.values());
    }

    private static String regclasses(List<TableName> tables) {
        return "{" + String.join(",", tables.stream().map(t -> "\"" + t.quoted().replace("\\", "\\\\")
                .replace("\"", "\\\"") + "\"").toList()) + "}";
    }

    private ResultSet query(String sql, String... params) throws SQLException {
        PreparedStatement ps = conn.prepareStatement(sql);
        for (int i = 0; i < params.length; i++) {
            ps.setString(i + 1, params[i]);
        }
        ps.closeOnCompletion();
        return ps.executeQuery();
    }
}
