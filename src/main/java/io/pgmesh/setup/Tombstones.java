package io.pgmesh.setup;

import io.pgmesh.ddl.DdlCapture;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;

/**
 * The tombstones of a node: for each replicated table with a key, a table {@code pgmesh.deleted_<oid>}
 * of the keys deleted from it, written by a trigger on every delete, the application's and the
 * applied ones alike, and on every UPDATE that changes the key (its old key is gone as surely). A tombstone row's own commit timestamp and origin are those of the delete, so
 * conflict resolution can compare a remote change with the delete that removed its row, just as it
 * compares it with a live row. Without them a late UPDATE or INSERT could not tell whether the
 * row it misses was deleted before or after it, and nodes would disagree.
 *
 * <p>The trigger is {@code ENABLE ALWAYS}: it fires in apply sessions too
 * ({@code session_replication_role = replica}), where the delete's commit carries the source's
 * timestamp and origin. It is {@code SECURITY DEFINER}, so application roles need no rights on
 * the {@code pgmesh} schema. {@code DROP SCHEMA pgmesh CASCADE} removes the triggers with it.
 */
public final class Tombstones {
    public static final String TRIGGER = "pgmesh_deleted";
    /**
     * The trigger of a key-changing UPDATE: for conflicts that is a delete of the old key plus an
     * insert of the new one, so the old key gets a tombstone like any deleted key.
     */
    public static final String REKEY_TRIGGER = "pgmesh_rekeyed";

    private Tombstones() {
    }

    /** The name of the tombstone table of the table with this oid. */
    public static TableName tableOf(String oid) {
        return new TableName("pgmesh", "deleted_" + oid);
    }

    /**
     * Creates what is missing for each table; tables keyed by REPLICA IDENTITY FULL have no key and
     * get none. The work is {@code pgmesh.keep_tombstones} ({@code io/pgmesh/ddl/capture.sql}),
     * which the DDL capture also calls for a table created later: one definition for both.
     */
    public static void ensure(Connection conn, Collection<TableName> tables) throws SQLException {
        DdlCapture.installFunctions(conn);
        for (TableName t : tables) {
            Sql.queryBool(conn, "SELECT pgmesh.keep_tombstones(?::regclass)", t.quoted());
        }
    }
}
