package io.pgmesh.apply;

import static io.pgmesh.apply.ScriptedConnection.NO_ROWS;
import static io.pgmesh.apply.ScriptedConnection.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.conflict.ConflictLog;
import io.pgmesh.conflict.ConflictPolicy;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The careful path's decisions (RowWriter and ConflictHandler), without a server: the target and
 * the source are scripted connections, and the test reads which statements they were given.
 */
@Timeout(10)
class ConflictHandlerTest {
    private static final Instant REMOTE = Instant.parse("2026-12-01T10:00:00Z");
    private static final RemoteTxn TXN = new RemoteTxn("west", REMOTE, Lsn.of(0x100));
    private static final String T = "\"public\".\"t\"";
    /** t (id, v, doc), keyed by id, with tombstones. */
    private static final TableMapping TABLE = new TableMapping(7, new TableName("public", "t"),
            new String[] {"id", "v", "doc"}, new boolean[] {true, true, true}, new boolean[] {true, true, true},
            new int[] {0}, false, true, new TableName("pgmesh", "deleted_1"), true, new boolean[3], null);

    private final ScriptedConnection target = new ScriptedConnection();
    private final ScriptedConnection source = new ScriptedConnection();

    private RowWriter writer() {
        return writer(false);
    }

    private RowWriter writer(boolean threeNodes) {
        Connection c = target.connection();
        PreparedShapes shapes = new PreparedShapes(c, () -> { });
        ConflictHandler handler = new ConflictHandler(shapes, ConflictPolicy.defaults(), new ConflictLog(c, "east"),
                new OriginNames(c, "east"), true, new SourceRows(source::connection, threeNodes),
                StreamStart.at(java.time.Instant.EPOCH));
        return new RowWriter(shapes, handler, "GUARD");
    }

    private static Object[] localRow(Duration age) {
        return new Object[] {"{}", Timestamp.from(REMOTE.minus(age)), 0L};
    }

    private static TupleData tuple(String id, String v, boolean toastUnchanged, String doc) {
        TupleData.Builder b = new TupleData.Builder().addText(id).addText(v);
        return (toastUnchanged ? b.addUnchangedToast() : b.addText(doc)).build();
    }

    private List<String> conflicts() {
        return target.ran("INSERT INTO pgmesh.conflicts");
    }

    @Test
    void aWinningUpdateWithoutItsToastedValueTakesTheWinnersValueFromTheSource() throws Exception {
        target.on("AND GUARD", 0).on("AS pgmesh_row", rows(localRow(Duration.ofMinutes(1))));
        source.on("WHERE \"id\" = '1'", rows(new Object[] {"1", "old", "the winning doc"}));

        writer().update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_NONE, null, tuple("1", "new", true, null)));

        List<String> overwrites = target.ran("UPDATE " + T + " SET \"id\" = $1, \"v\" = $2, \"doc\" = $3 WHERE \"id\" = $4 <-");
        assertEquals(1, overwrites.size(), "the newer update overwrites every column, the one it left out included: "
                + target.log);
        assertTrue(overwrites.get(0).contains("'new', 'the winning doc'"),
                "the left-out value is the source's, not the losing local one: " + overwrites.get(0));
        assertTrue(conflicts().get(0).contains("update_differs, apply_remote"), conflicts().toString());
    }

    @Test
    void inAMeshOfThreeEveryUpdateWithoutItsToastedValueTakesItFromTheSource() throws Exception {
        source.on("WHERE \"id\" = '1'", rows(new Object[] {"1", "old", "the source's doc"}));

        writer(true).update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_NONE, null, tuple("1", "new", true, null)));

        List<String> updates = target.ran("UPDATE " + T + " SET \"id\" = $1, \"v\" = $2, \"doc\" = $3 WHERE \"id\" = $4 AND GUARD");
        assertEquals(1, updates.size(), "no conflict, but the update writes the document too: " + target.log);
        assertTrue(updates.get(0).contains("'new', 'the source''s doc'"), updates.get(0));
        assertEquals(List.of(), conflicts(), "no conflict is recorded for it");
    }

    @Test
    void inAMeshOfTwoAnUpdateOfARowTheSourceWroteLastKeepsTheLocalToastedValue() throws Exception {
        writer(false).update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_NONE, null, tuple("1", "new", true, null)));

        assertEquals(1, target.ran("UPDATE " + T + " SET \"id\" = $1, \"v\" = $2 WHERE \"id\" = $3 AND GUARD").size(),
                "the document is left alone: " + target.log);
        assertEquals(List.of(), source.log, "the source is not asked");
    }

    @Test
    void anUpdateOfARowThatTheSourceNoLongerHasIsSkippedAndRecorded() throws Exception {
        target.on("AND GUARD", 0).on("AS pgmesh_row", NO_ROWS)
                .on("FROM \"pgmesh\".\"deleted_1\" WHERE \"id\" = $1 FOR UPDATE", rows(new Object[] {
                        Timestamp.from(REMOTE.minusSeconds(60)), 0L}));
        source.on("WHERE \"id\" = '1'", NO_ROWS);

        writer().update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_NONE, null, tuple("1", "new", true, null)));

        assertEquals(List.of(), target.ran("INSERT INTO " + T), "a row without its document is not written back");
        assertTrue(conflicts().get(0).contains("update_missing, skip"),
                "the skip is recorded, not silent: " + conflicts());
    }

    @Test
    void anUpdateNewerThanTheDeleteWritesTheRowBackWholeWithTheSourcesValue() throws Exception {
        target.on("AND GUARD", 0).on("AS pgmesh_row", NO_ROWS)
                .on("FROM \"pgmesh\".\"deleted_1\" WHERE \"id\" = $1 FOR UPDATE", rows(new Object[] {
                        Timestamp.from(REMOTE.minusSeconds(60)), 0L}));
        source.on("WHERE \"id\" = '1'", rows(new Object[] {"1", "old", "the doc"}));

        writer().update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_NONE, null, tuple("1", "new", true, null)));

        List<String> inserts = target.ran("INSERT INTO " + T);
        assertEquals(1, inserts.size(), target.log.toString());
        assertTrue(inserts.get(0).endsWith("<- '1', 'new', 'the doc'"), inserts.get(0));
        assertTrue(conflicts().get(0).contains("update_missing, apply_remote"), conflicts().toString());
    }

    @Test
    void aKeyTakenAgainAndAgainEndsInARetryOfTheTaskNotInEndlessRecursion() {
        // The key is never found, yet never free: the old code called itself until the stack overflowed.
        target.on("INSERT INTO " + T, 0).on("AS pgmesh_row", NO_ROWS);

        SQLException e = assertThrows(SQLException.class,
                () -> writer().insert(TXN, TABLE, tuple("1", "v", false, "d")));

        assertEquals("40001", e.getSQLState(), "a retryable error: the task applies the transaction anew");
        assertEquals(3, target.ran("AS pgmesh_row").size(), "weighed a bounded number of times: " + target.log);
    }

    @Test
    void aKeyChangeThatCannotMoveTheRowIsADeleteOfTheOldKeyAndAnInsertOfTheNew() throws Exception {
        target.on("AND NOT EXISTS", 0)                       // the move: the new key is taken here
                .on("DELETE FROM " + T + " WHERE \"id\" = $1 AND GUARD", 1)
                .on("INSERT INTO " + T, 0)
                .on("AS pgmesh_row", rows(localRow(Duration.ofMinutes(-1)))); // the row at key 2 is newer
        source.on("WHERE \"id\" = '2'", rows(new Object[] {"2", "v", "doc of 2"}));
        TupleData oldKey = new TupleData.Builder().addText("1").addNull().addNull().build();

        writer().update(TXN, TABLE, new WalMessage.Update(7, WalMessage.Update.OLD_KEY, oldKey, tuple("2", "v", true, null)));

        List<String> order = target.log.stream().filter(s -> s.startsWith("UPDATE") || s.startsWith("DELETE")
                || s.startsWith("INSERT INTO " + T) || s.contains("AS pgmesh_row")).map(s -> s.substring(0, 6)).toList();
        assertEquals(List.of("UPDATE", "DELETE", "INSERT", "SELECT"), order,
                "move, else delete the old key, insert the new one, and weigh that insert: " + target.log);
        assertTrue(target.ran("INSERT INTO " + T).get(0).endsWith("<- '2', 'v', 'doc of 2'"),
                "the new row carries the document the change left out, from the source: " + target.log);
        assertTrue(conflicts().get(0).contains("insert_exists, keep_local"),
                "the newer local row at the new key wins: " + conflicts());
    }
}
