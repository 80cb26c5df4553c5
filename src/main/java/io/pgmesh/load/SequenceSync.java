package io.pgmesh.load;

import io.pgmesh.pg.ColumnSequences;
import io.pgmesh.pg.Ident;
import io.pgmesh.pg.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moves the target's sequences past the loaded values: a sequence that still stood at 1 would hand
 * out keys the load has just filled in, and the application's first insert there would fail.
 */
final class SequenceSync {
    private static final Pattern NEXTVAL = Pattern.compile("nextval\\('((?:[^']|'')+)'::regclass\\)");

    private SequenceSync() {
    }

    static void run(Connection target, Iterable<TableDefinition> tables) throws SQLException {
        for (TableDefinition t : tables) {
            for (TableDefinition.Column c : t.columns()) {
                Optional<String> sequence = sequenceOf(target, t, c);
                if (sequence.isPresent()) {
                    // Only ever forward: a sequence that feeds several tables (the partitions of one
                    // table, say) would otherwise end at the maximum of the last table, not of all.
                    Sql.queryString(target, "SELECT setval(?::regclass, m) FROM (SELECT max(" + Ident.quote(c.name())
                            + ")::bigint AS m FROM " + t.name().quoted() + ") x WHERE m IS NOT NULL"
                            + " AND m > COALESCE(pg_sequence_last_value(?::regclass), m - 1)", sequence.get(),
                            sequence.get());
                }
            }
        }
    }

    /** The sequence that feeds the column on the target: its identity or serial sequence, or the one its default calls. */
    private static Optional<String> sequenceOf(Connection target, TableDefinition t, TableDefinition.Column c)
            throws SQLException {
        Optional<String> owned = Sql.queryString(target, "SELECT pg_get_serial_sequence(?, ?)", t.name().quoted(),
                c.name());
        if (owned.isPresent()) {
            return owned;
        }
        Optional<String> inherited = Sql.queryString(target, "SELECT a.objid::regclass::text FROM pg_attribute att,"
                + " LATERAL (" + ColumnSequences.ancestorIdentity("att.attrelid", "att") + ") a"
                + " WHERE att.attrelid = ?::regclass AND att.attname = ?", t.name().quoted(), c.name());
        if (inherited.isPresent()) {
            return inherited;
        }
        Optional<String> def = Sql.queryString(target, """
                SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                 WHERE d.adrelid = ?::regclass AND a.attname = ?""", t.name().quoted(), c.name());
        if (def.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = NEXTVAL.matcher(def.get());
        return m.find() ? Optional.of(m.group(1).replace("''", "'")) : Optional.empty();
    }
}
