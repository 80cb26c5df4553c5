package io.pgmesh.ids;

import io.pgmesh.pg.TableName;

/**
 * One sequence on one node, as {@code pg_sequence} and the sequence relation describe it.
 *
 * @param sequence  the sequence
 * @param type      its data type: smallint, integer or bigint
 * @param increment INCREMENT BY
 * @param min       MINVALUE
 * @param max       MAXVALUE
 * @param cache     CACHE
 * @param lastValue the sequence's last_value
 * @param isCalled  whether last_value has been handed out (false right after a RESTART)
 */
public record SequenceState(TableName sequence, String type, long increment, long min, long max, long cache,
                            long lastValue, boolean isCalled) {

    /** The value the next nextval() returns (past MAXVALUE when the sequence is used up). */
    public long next() {
        if (!isCalled) {
            return lastValue;
        }
        long next = lastValue + increment;
        // Saturate: a used-up bigint sequence must not wrap around to a small "next" value.
        return increment > 0 && next < lastValue ? Long.MAX_VALUE : next;
    }

    /** The highest value this ascending sequence may have handed out so far. */
    public long lastUsed() {
        return isCalled ? lastValue : lastValue - 1;
    }
}
