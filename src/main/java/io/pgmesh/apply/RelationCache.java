package io.pgmesh.apply;

import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.Truncate;
import io.pgmesh.wal.WalMessage.Update;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * What the applier knows of the source's relations, fed by Relation messages: each one's
 * description and how its columns land on the target table (by name). A relation the target
 * cannot take (a missing table or column) is remembered with the reason; only a change of it is
 * a failure, and on-error decides about it then.
 */
final class RelationCache {
    private final Map<Integer, TableMapping> mappings = new HashMap<>();
    private final Map<Integer, Relation> descriptions = new HashMap<>();
    private final Map<Integer, ApplyException> unmappable = new HashMap<>();

    /** The description last received for the relation, or null. */
    Relation description(int relationId) {
        return descriptions.get(relationId);
    }

    /** True when the relation was described before (its prepared statements may be outdated now). */
    boolean isKnown(int relationId) {
        return descriptions.containsKey(relationId);
    }

    /** Records {@code r}, reading the target table it maps to on {@code conn}. */
    void describe(Relation r, Connection conn) throws SQLException {
        descriptions.put(r.relationId(), r);
        try {
            mappings.put(r.relationId(), TableMapping.of(r, TargetCatalog.describe(conn, new TableName(r.namespace(), r.name()))));
            unmappable.remove(r.relationId());
        } catch (ApplyException e) {
            mappings.remove(r.relationId());
            unmappable.put(r.relationId(), e);
        }
    }

    TableMapping mapping(WalMessage change) {
        return mapping(relationId(change));
    }

    /**
     * How the relation maps onto the target; an {@link UnresolvableChangeException} when the
     * target cannot take it.
     */
    TableMapping mapping(int relationId) {
        ApplyException unusable = unmappable.get(relationId);
        if (unusable != null) {
            throw new UnresolvableChangeException(unusable.getMessage(), unusable.sqlState());
        }
        TableMapping m = mappings.get(relationId);
        if (m == null) {
            throw new ApplyException("change for relation " + relationId + " arrived before its description", null);
        }
        return m;
    }

    /**
     * True when the change touches a relation the target cannot take, or carries a value for a
     * column the target no longer has.
     */
    boolean touchesUnmappable(WalMessage change) {
        if (lostValue(change) != null) {
            return true;
        }
        if (unmappable.isEmpty()) {
            return false;
        }
        if (change instanceof Truncate t) {
            return Arrays.stream(t.relationIds()).anyMatch(unmappable::containsKey);
        }
        return unmappable.containsKey(relationId(change));
    }

    /** Why applying {@code change} would lose a value ({@link TableMapping#lostValue}), or null. */
    String lostValue(WalMessage change) {
        TupleData row = change instanceof Insert i ? i.newTuple() : change instanceof Update u ? u.newTuple() : null;
        TableMapping m = row == null ? null : mappings.get(relationId(change));
        return m == null ? null : m.lostValue(row);
    }

    private static int relationId(WalMessage change) {
        return change instanceof Insert i ? i.relationId()
                : change instanceof Update u ? u.relationId() : ((Delete) change).relationId();
    }
}
