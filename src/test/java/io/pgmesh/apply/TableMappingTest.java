package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.TableName;
import io.pgmesh.wal.TupleData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A row from a node that still has a column the target dropped: applied without it when its value
 * is NULL, since nothing is lost; unresolvable when a value would be lost.
 */
@Timeout(10)
class TableMappingTest {
    /** Source columns id, note, qty; the target dropped note. */
    private static final TableMapping TABLE = new TableMapping(7, new TableName("public", "t"),
            new String[] {"id", "note", "qty"}, new boolean[] {true, false, true}, new boolean[] {true, false, true},
            new int[] {0}, false, true, null, true, new boolean[] {false, true, false}, null);

    @Test
    void aNullInADroppedColumnLosesNothing() {
        TupleData row = new TupleData.Builder().addText("1").addNull().addText("5").build();
        assertNull(TABLE.lostValue(row));
        assertArrayEquals(new int[] {0, 2}, TABLE.writableIn(row), "the dropped column is not written");
    }

    @Test
    void aValueInADroppedColumnWouldBeLost() {
        TupleData row = new TupleData.Builder().addText("1").addText("kept on the source").addText("5").build();
        String why = TABLE.lostValue(row);
        assertTrue(why != null && why.contains("no column note"), String.valueOf(why));
        assertEquals(null, TABLE.lostValue(null), "a delete carries no new row");
    }
}
