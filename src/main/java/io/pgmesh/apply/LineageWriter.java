package io.pgmesh.apply;

import io.pgmesh.causal.Lineage;
import io.pgmesh.pg.Sql;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Records on the target the {@link Lineage} each applied change of a first-update-wins table came
 * with, in the transaction that writes the change's version: so that the lineage row's own
 * commit time and origin are those of the version it belongs to. A local version that stayed
 * keeps its own lineage.
 */
final class LineageWriter {
    private final PreparedShapes shapes;

    LineageWriter(PreparedShapes shapes) {
        this.shapes = shapes;
    }

    /** A key a change writes a version of, and that version's lineage. */
    private record KeyLineage(TupleData key, String ancestors) {
    }

    /**
     * The statements that record the lineages of what {@code change} wrote, to follow its strict
     * statement in a batch: that statement wrote the version, or the batch fails and replays carefully.
     */
    List<String> statements(TableMapping m, WalMessage change, Lineage.Message lineage) throws SQLException {
        List<String> out = new ArrayList<>();
        for (KeyLineage k : keyLineages(m, change, lineage)) {
            out.add(upsert(m, k));
        }
        return out;
    }

    /** After a careful change: records the lineage of each key whose version this transaction wrote. */
    void afterCareful(TableMapping m, WalMessage change, Lineage.Message lineage) throws SQLException {
        String name = shapes.name(m.relationId() + ":L-here", () -> SqlRenderer.writtenHere(m.table(), m.tombstones(),
                m.names(m.key())));
        for (KeyLineage k : keyLineages(m, change, lineage)) {
            ExecuteCall check = new ExecuteCall(name).values(k.key(), m.key());
            if (m.tombstones() != null) {
                check.values(k.key(), m.key());
            }
            if (Sql.queryBool(shapes.connection(), check.sql())) {
                Sql.exec(shapes.connection(), upsert(m, k));
            }
        }
    }

    /** The keys {@code change} writes versions of: one, or for a change of key the new key and (its delete) the old one. */
    private static List<KeyLineage> keyLineages(TableMapping m, WalMessage change, Lineage.Message l) {
        if (change instanceof Insert i) {
            return List.of(new KeyLineage(i.newTuple(), l.ancestors()));
        }
        if (change instanceof Delete d) {
            return List.of(new KeyLineage(d.oldTuple(), l.ancestors()));
        }
        Update u = (Update) change;
        if (RowWriter.changesKey(m, u)) {
            return List.of(new KeyLineage(u.newTuple(), l.ancestors()),
                    new KeyLineage(u.oldTuple(), l.oldKeyAncestors() == null ? "?" : l.oldKeyAncestors()));
        }
        return List.of(new KeyLineage(u.oldTuple() != null ? u.oldTuple() : u.newTuple(), l.ancestors()));
    }

    private String upsert(TableMapping m, KeyLineage k) throws SQLException {
        String name = shapes.name(m.relationId() + ":L", () -> SqlRenderer.upsertLineage(m.lineage(), m.names(m.key())));
        return new ExecuteCall(name).values(k.key(), m.key()).text(k.ancestors()).sql();
    }
}
