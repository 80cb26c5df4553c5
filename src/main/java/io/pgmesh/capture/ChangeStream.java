package io.pgmesh.capture;

import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.ServerCapabilities;
import io.pgmesh.topology.Names;
import java.nio.ByteBuffer;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;

/**
 * One task's pgoutput stream from its slot. Owned by the capture thread alone: pgjdbc answers
 * the server's keepalives only from inside {@link #readPending()}.
 */
public final class ChangeStream implements AutoCloseable {
    private final PGReplicationStream stream;
    private Lsn confirmed = Lsn.ZERO;

    ChangeStream(PGReplicationStream stream) {
        this.stream = stream;
    }

    public static ChangeStream start(PGConnection conn, String slotName, Lsn start, ServerCapabilities caps)
            throws SQLException {
        ChainedLogicalStreamBuilder builder = conn.getReplicationAPI().replicationStream().logical()
                .withSlotName(slotName)
                .withStartPosition(LogSequenceNumber.valueOf(start.value()))
                .withSlotOption("proto_version", "1")
                .withSlotOption("publication_names", Names.PUBLICATION)
                // What the source has applied from the others travels as logical messages (causal.Beacon).
                .withSlotOption("messages", "true")
                .withStatusInterval(1, TimeUnit.SECONDS)
                // pgjdbc would otherwise confirm a keepalive's position on its own whenever the
                // last message's start lies below what we confirmed; a change of a transaction
                // still waiting in the apply queue can start that low, and would then be lost.
                .withAutomaticFlush(false);
        if (caps.serverSideOriginFilter()) {
            // The server then drops applied transactions itself; the client-side filter stays as a second guard.
            builder.withSlotOption("origin", "none");
        }
        return new ChangeStream(builder.start());
    }

    /** The next message, or null when none is waiting. Also sends feedback when it is due. */
    public ByteBuffer readPending() throws SQLException {
        return stream.readPending();
    }

    /** The server's position as of the last message or keepalive read. */
    public Lsn lastReceived() {
        return Lsn.of(stream.getLastReceiveLSN().asLong());
    }

    /** Confirms {@code lsn} as flushed: the server may then release WAL before it. Never moves back. */
    public void confirm(Lsn lsn) {
        if (lsn.compareTo(confirmed) > 0) {
            confirmed = lsn;
            LogSequenceNumber l = LogSequenceNumber.valueOf(lsn.value());
            stream.setAppliedLSN(l);
            stream.setFlushedLSN(l);
        }
    }

    /** Sends a status update now: keeps the walsender from timing out while the applier is busy. */
    public void sendStatus() throws SQLException {
        stream.forceUpdateStatus();
    }

    public Lsn confirmed() {
        return confirmed;
    }

    @Override
    public void close() throws SQLException {
        stream.close();
    }
}
