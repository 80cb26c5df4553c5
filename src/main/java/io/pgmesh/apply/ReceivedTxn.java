package io.pgmesh.apply;

/**
 * Where the applier stands with the source transaction it is receiving: the state that decides
 * which path each of its changes takes. One object per transaction, so that nothing of one
 * transaction's state can leak into the next.
 */
final class ReceivedTxn {
    final RemoteTxn txn;
    /** Applied before a restart: its changes are dropped. */
    final boolean skipped;
    /** Applied statement by statement with conflict resolution, not in a strict batch. */
    boolean careful;
    /** Its place in the batch being built, null until its first change there. */
    StrictBatch.Entry entry;
    /** Part of it already ran on the server (an earlier batch, or its careful BEGIN). */
    boolean started;
    /** Row changes applied carefully so far. */
    int carefulRows;

    /** Lineages that arrived for the next row change of their table ({@code schema.table}). */
    private java.util.Map<String, io.pgmesh.causal.Lineage.Message> lineage;

    ReceivedTxn(RemoteTxn txn, boolean skipped, boolean careful) {
        this.txn = txn;
        this.skipped = skipped;
        this.careful = careful;
    }

    /** A lineage message: it belongs to the next change of {@code table}. */
    void lineage(io.pgmesh.causal.Lineage.Message m) {
        if (lineage == null) {
            lineage = new java.util.HashMap<>();
        }
        lineage.put(m.table(), m);
    }

    /** The lineage of this change of {@code table}; unknown when none came with it. */
    io.pgmesh.causal.Lineage.Message takeLineage(String table) {
        io.pgmesh.causal.Lineage.Message m = lineage == null ? null : lineage.remove(table);
        return m == null ? io.pgmesh.causal.Lineage.Message.unknown(table) : m;
    }
}
