package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The strict statements of the fast path, without a server: each one must fail (and so send its
 * transaction to the careful replay) exactly when a conflict is possible, and never in other cases.
 */
@Timeout(10)
class RowWriterTest {
    private static final String T = "\"public\".\"t\"";
    private static final TableMapping TABLE = new TableMapping(7, new TableName("public", "t"),
            new String[] {"id", "v"}, new boolean[] {true, true}, new boolean[] {true, true},
            new int[] {0}, false, true, new TableName("pgmesh", "deleted_1"), true, new boolean[2], null);

    private final ScriptedConnection target = new ScriptedConnection();
    private final Connection conn = target.connection();
    private final PreparedShapes shapes = new PreparedShapes(conn, () -> { });
    private final RowWriter writer = new RowWriter(shapes, new ConflictHandler(shapes, ConflictPolicy.defaults(),
            new ConflictLog(conn, "east"), new OriginNames(conn, "east"), true,
            new SourceRows(() -> { throw new AssertionError("a two-node strict path never asks the source"); }, false),
            StreamStart.at(java.time.Instant.EPOCH)),
            "GUARD");

    /** Runs what the writer rendered and returns it as the server got it (statement and arguments). */
    private String ran(String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
        return target.log.get(target.log.size() - 1);
    }

    private static WalMessage.Update update(TupleData oldKey, String id, String v) {
        return new WalMessage.Update(7, oldKey == null ? WalMessage.Update.OLD_NONE : WalMessage.Update.OLD_KEY, oldKey,
                TupleData.ofText(id, v));
    }

    @Test
    void aStrictUpdateChangesOnlyARowItsOwnOriginWroteAndFailsUnlessItChangedOne() throws SQLException {
        String sql = ran(writer.strict(TABLE, update(null, "1", "x")));
        assertTrue(sql.startsWith("WITH w AS (UPDATE " + T + " SET \"id\" = $1, \"v\" = $2 WHERE \"id\" = $3 AND GUARD"
                + " RETURNING 1)"), sql);
        assertTrue(sql.contains("HAVING 1 / (count(*) = 1)::int = 0"), "a row count other than one divides by zero: " + sql);
        assertTrue(sql.endsWith("<- '1', 'x', '1'"), sql);
    }

    @Test
    void aStrictKeyChangeMovesTheRowOnlyWhereTheNewKeyIsFreeAndNotDeletedByAnotherOrigin() throws SQLException {
        TupleData oldKey = new TupleData.Builder().addText("1").addNull().build();
        String sql = ran(writer.strict(TABLE, update(oldKey, "2", "x")));
        assertTrue(sql.contains("UPDATE " + T) && sql.contains("deleted_1") && sql.contains("NOT EXISTS"), sql);
        assertTrue(sql.endsWith("<- '2', 'x', '1', '2'"), "new values, then the old key, then the new key: " + sql);
        assertTrue(RowWriter.changesKey(TABLE, update(oldKey, "2", "x")));
        assertFalse(RowWriter.changesKey(TABLE, update(TupleData.ofText("1", null), "1", "x")),
                "an old key equal to the new one moves nothing");
    }

    @Test
    void aStrictDeleteRemovesOnlyARowItsOwnOriginWrote() throws SQLException {
        String sql = ran(writer.strict(TABLE, new WalMessage.Delete(7, WalMessage.Update.OLD_KEY,
                new TupleData.Builder().addText("5").addNull().build())));
        assertTrue(sql.startsWith("WITH w AS (DELETE FROM " + T + " WHERE \"id\" = $1 AND GUARD RETURNING 1)"), sql);
        assertTrue(sql.endsWith("<- '5'"), sql);
    }

    @Test
    void strictInsertsFailWhenAKeyExistsOrWasDeletedHereByAnotherOrigin() throws SQLException {
        String sql = ran(writer.strictInserts(TABLE, List.of(TupleData.ofText("1", "a"), TupleData.ofText("2", "b"))));
        assertTrue(sql.contains("INSERT INTO " + T + " (\"id\", \"v\") OVERRIDING SYSTEM VALUE VALUES ($1, $2), ($3, $4)"
                + " RETURNING \"id\""), "one statement for the run, no ON CONFLICT: a taken key fails it: " + sql);
        assertTrue(sql.contains("FROM \"pgmesh\".\"deleted_1\" WHERE (\"id\") IN (SELECT \"id\" FROM w) AND NOT GUARD"),
                sql);
        assertEquals(List.of(), target.ran("pgmesh.conflicts"), "the fast path records no conflict");
    }
}
