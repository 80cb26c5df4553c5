package io.pgmesh.capture;

import io.pgmesh.topology.Names;
import io.pgmesh.wal.WalMessage;
import io.pgmesh.wal.WalMessage.Begin;
import io.pgmesh.wal.WalMessage.Commit;
import io.pgmesh.wal.WalMessage.Origin;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.TypeInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * Decides which decoded messages travel to the applier. A transaction that a pgmesh task applied
 * on the source carries a pgmesh origin: forwarding it would echo it back forever, so it is
 * dropped whole. Empty transactions (PostgreSQL before 15 sends one for every commit that touched
 * no published table) are dropped too. Relation and type descriptions always pass, even inside a
 * dropped transaction, because the server sends each one only once per session.
 *
 * <p>Pure: no I/O; the Begin of a transaction is held back until its next message tells whether
 * the transaction travels.
 */
public final class TransactionFilter {
    private Begin heldBegin;
    private boolean dropping;
    private boolean inTransaction;
    private long droppedLoopback;

    /** Feeds one message; returns the messages to forward, in order (often just {@code m}). */
    public List<WalMessage> accept(WalMessage m) {
        if (m instanceof Begin b) {
            heldBegin = b;
            dropping = false;
            inTransaction = true;
            return List.of();
        }
        if (m instanceof Origin o) {
            if (heldBegin != null && o.name().startsWith(Names.PREFIX)) {
                heldBegin = null;
                dropping = true;
                droppedLoopback++;
            }
            return List.of();
        }
        if (dropping && (m instanceof Relation || m instanceof TypeInfo)) {
            return List.of(m);
        }
        if (m instanceof Commit) {
            inTransaction = false;
            boolean forward = !dropping && heldBegin == null;
            heldBegin = null;
            dropping = false;
            return forward ? List.of(m) : List.of();
        }
        if (dropping) {
            return List.of();
        }
        if (heldBegin != null) {
            List<WalMessage> out = new ArrayList<>(2);
            out.add(heldBegin);
            out.add(m);
            heldBegin = null;
            return out;
        }
        return List.of(m);
    }

    /**
     * True between a Begin and its Commit. A keepalive received then may carry a position past
     * the transaction being received, which must not be confirmed before that transaction is applied.
     */
    public boolean inTransaction() {
        return inTransaction;
    }

    /** Transactions dropped because they came from another pgmesh node. */
    public long droppedLoopback() {
        return droppedLoopback;
    }
}
