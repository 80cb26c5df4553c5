package io.pgmesh.ids;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.TableName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class PartitionRuleTest {
    private static final TableName SEQ = new TableName("public", "items_id_seq");

    private static SequenceState seq(String type, long increment, long min, long max, long lastValue, boolean called) {
        return new SequenceState(SEQ, type, increment, min, max, 1, lastValue, called);
    }

    private static SequenceState bigint(long increment, long lastValue, boolean called) {
        return seq("bigint", increment, 1, Long.MAX_VALUE, lastValue, called);
    }

    @Test
    void slotKTakesTheValuesThatAreKModNAndTheLastSlotTheMultiplesOfN() {
        assertEquals(1, PartitionRule.residue(1, 8));
        assertEquals(2, PartitionRule.residue(2, 8));
        assertEquals(0, PartitionRule.residue(8, 8));
        assertEquals(0, PartitionRule.residue(2, 2));
    }

    @Test
    void theRestartValueIsTheFirstValueOfTheSlotAboveEveryValueInUse() {
        assertEquals(1001, PartitionRule.restartValue("east", bigint(1, 1, false), 1000, 1, 8));
        assertEquals(1002, PartitionRule.restartValue("west", bigint(1, 1, false), 1000, 2, 8));
        assertEquals(1008, PartitionRule.restartValue("north", bigint(1, 1, false), 1000, 8, 8));
        assertEquals(1009, PartitionRule.restartValue("east", bigint(1, 1, false), 1001, 1, 8),
                "1001 itself is in use: the next value of slot 1 is one step further");
    }

    @Test
    void theRestartValueIsNeverBelowMinvalue() {
        assertEquals(8, PartitionRule.restartValue("north", bigint(1, 1, false), 0, 8, 8));
        SequenceState from100 = seq("bigint", 1, 100, Long.MAX_VALUE, 100, false);
        assertEquals(105, PartitionRule.restartValue("east", from100, -5, 1, 8));
        assertEquals(-7, PartitionRule.restartValue("east", seq("bigint", 1, -100, 100, -100, false), -10, 1, 8),
                "negative values have residues too: -7 = 1 mod 8");
    }

    @Test
    void aSequenceWithoutRoomAboveTheValuesInUseIsRefusedNamingNodeAndSequence() {
        SequenceState small = seq("smallint", 1, 1, 32767, 32000, true);
        assertEquals(32761, PartitionRule.restartValue("east", small, 32760, 1, 8));
        assertEquals(32767, PartitionRule.restartValue("east", small, 32760, 7, 8));
        PartitionException e = assertThrows(PartitionException.class,
                () -> PartitionRule.restartValue("north", small, 32760, 8, 8));
        assertEquals("north: sequence public.items_id_seq (smallint, MAXVALUE 32767) has no room: no value above 32760"
                + " that is 0 mod 8 fits; change it to bigint first (ALTER SEQUENCE ... AS bigint, and the column too)",
                e.getMessage());
        assertThrows(PartitionException.class,
                () -> PartitionRule.restartValue("east", bigint(1, 1, true), Long.MAX_VALUE, 1, 8));
        assertThrows(PartitionException.class,
                () -> PartitionRule.restartValue("east", bigint(1, 1, true), Long.MAX_VALUE - 3, 1, 8));
    }

    @Test
    void aSequenceIsPartitionedWhenItStepsByNAndItsNextValueIsInItsSlot() {
        assertTrue(PartitionRule.isPartitioned(bigint(8, 1009, false), 1, 8), "restarted at 1009, not yet called");
        assertTrue(PartitionRule.isPartitioned(bigint(8, 1009, true), 1, 8), "next is 1017");
        assertFalse(PartitionRule.isPartitioned(bigint(8, 1010, false), 1, 8), "1010 is slot 2's");
        assertFalse(PartitionRule.isPartitioned(bigint(1, 1009, false), 1, 8), "steps by 1");
        assertFalse(PartitionRule.isPartitioned(bigint(16, 1009, false), 1, 8), "steps by another slot count");
    }

    @Test
    void theStatementQuotesTheSequenceAndSetsIncrementAndRestart() {
        SequenceState odd = new SequenceState(new TableName("Sales", "order \"no\" seq"), "integer", 1, 1,
                Integer.MAX_VALUE, 1, 5, true);
        assertEquals("ALTER SEQUENCE \"Sales\".\"order \"\"no\"\" seq\" INCREMENT BY 8 RESTART WITH 1009",
                PartitionRule.statement(odd, 8, 1009));
    }

    @Test
    void theNextValueOfAUsedUpSequenceDoesNotWrapAround() {
        assertEquals(Long.MAX_VALUE, bigint(8, Long.MAX_VALUE - 2, true).next());
        assertEquals(Long.MAX_VALUE - 2, bigint(8, Long.MAX_VALUE - 2, false).next());
        assertEquals(41, bigint(8, 33, true).next());
        assertEquals(33, bigint(8, 33, true).lastUsed());
        assertEquals(32, bigint(8, 33, false).lastUsed(), "a restarted sequence has handed out nothing at its last_value");
    }
}
