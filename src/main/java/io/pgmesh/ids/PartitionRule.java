package io.pgmesh.ids;

import io.pgmesh.pg.Ident;

/**
 * The partition rule, pure: the node in slot {@code k} (its 1-based position in the mesh file) of
 * {@code n} slots takes the values {@code v} with {@code v mod n = k mod n}, stepping by {@code n}.
 * Slot n (when the mesh is full) therefore takes the multiples of n.
 */
public final class PartitionRule {
    private PartitionRule() {
    }

    /** The residue, 0..n-1, of the values that slot {@code slot} takes. */
    public static long residue(int slot, int slots) {
        return Math.floorMod(slot, slots);
    }

    /** Whether {@code s} already steps by {@code slots} on the values of {@code slot}. */
    public static boolean isPartitioned(SequenceState s, int slot, int slots) {
        return s.increment() == slots && Math.floorMod(s.next(), (long) slots) == residue(slot, slots);
    }

    /**
     * The first value above {@code maxInUse} (and not below MINVALUE) that belongs to
     * {@code slot}.
     *
     * @throws PartitionException naming {@code node} and the sequence when that value is past MAXVALUE
     */
    public static long restartValue(String node, SequenceState s, long maxInUse, int slot, int slots) {
        long r = residue(slot, slots);
        long base = maxInUse == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(maxInUse + 1, s.min());
        long offset = Math.floorMod(r - Math.floorMod(base, (long) slots), (long) slots);
        if (maxInUse == Long.MAX_VALUE || base > s.max() - offset) {
            throw new PartitionException(node + ": sequence " + s.sequence() + " (" + s.type() + ", MAXVALUE " + s.max()
                    + ") has no room: no value above " + maxInUse + " that is " + r + " mod " + slots
                    + " fits; change it to bigint first (ALTER SEQUENCE ... AS bigint, and the column too)");
        }
        return base + offset;
    }

    /** The statement that partitions {@code s}: it steps by {@code slots} and starts again at {@code restart}. */
    public static String statement(SequenceState s, int slots, long restart) {
        return "ALTER SEQUENCE " + Ident.qualified(s.sequence().schema(), s.sequence().name())
                + " INCREMENT BY " + slots + " RESTART WITH " + restart;
    }
}
