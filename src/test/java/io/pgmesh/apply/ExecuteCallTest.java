package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.wal.TupleData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ExecuteCallTest {

    @Test
    void valuesBecomeUntypedLiteralsWithQuotesDoubled() {
        TupleData t = TupleData.ofText("1", "it's", null, "a\\b", "");
        assertEquals("EXECUTE p1('1', 'it''s', NULL, 'a\\b', '')",
                new ExecuteCall("p1").values(t, new int[] {0, 1, 2, 3, 4}).sql(),
                "backslashes stay as they are (standard_conforming_strings), only quotes double");
    }

    @Test
    void severalTuplesFollowEachOtherInParameterOrder() {
        TupleData newRow = TupleData.ofText("7", "x");
        TupleData oldKey = TupleData.ofText("5", null);
        assertEquals("EXECUTE p2('x', '5')", new ExecuteCall("p2").values(newRow, new int[] {1}).values(oldKey, new int[] {0}).sql());
    }
}
