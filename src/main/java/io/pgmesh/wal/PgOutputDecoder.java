package io.pgmesh.wal;

import io.pgmesh.pg.Lsn;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes one pgoutput message (protocol version 1) into a {@link WalMessage}.
 *
 * <p>Pure: no JDBC, no catalog look-ups, no transaction state, no I/O. The same bytes always give
 * the same message or the same {@link ProtocolException}. Wire layouts are tabled in
 * {@link ByteReader}. Supported types: B, C, O, R, Y, I, U, D, T, M. Streaming and two-phase
 * messages belong to later protocol versions and are rejected, as is any byte left over after a
 * complete message.
 */
public final class PgOutputDecoder {

    private PgOutputDecoder() {
    }

    /**
     * Decodes the message between the buffer's position and limit. The buffer is not modified
     * (position, limit and byte order stay as they were), need not be array-backed, and may be
     * reused by the caller afterwards: tuple values are copied out, once per tuple.
     *
     * @throws ProtocolException if the bytes are not exactly one well-formed version 1 message
     */
    public static WalMessage decode(ByteBuffer buf) {
        if (!buf.hasRemaining()) {
            throw new ProtocolException('\0', 0, "message type (1 byte)", "empty message");
        }
        char type = (char) (buf.get(buf.position()) & 0xFF);
        ByteReader in = new ByteReader(buf, type);
        in.u8(); // the type byte, already known
        WalMessage message = decodeBody(type, in);
        in.expectEnd();
        return message;
    }

    private static WalMessage decodeBody(char type, ByteReader in) {
        switch (type) {
            case 'B': return begin(in);
            case 'C': return commit(in);
            case 'O': return origin(in);
            case 'R': return relation(in);
            case 'Y': return typeInfo(in);
            case 'I': return insert(in);
            case 'U': return update(in);
            case 'D': return delete(in);
            case 'T': return truncate(in);
            case 'M': return logicalMessage(in);
            default: throw unsupported(type);
        }
    }

    private static ProtocolException unsupported(char type) {
        String laterName = laterVersionMessageName(type);
        String actual = laterName == null
                ? "unknown type " + ProtocolException.typeName(type)
                : ProtocolException.typeName(type) + " (" + laterName + "), which needs a protocol version above 1";
        return new ProtocolException(type, 0,
                "a protocol version 1 message type (B, C, O, R, Y, I, U, D, T or M)", actual);
    }

    /** Streaming (version 2) and two-phase (version 3) messages, named for the error; else null. */
    private static String laterVersionMessageName(char type) {
        switch (type) {
            case 'S': return "Stream Start";
            case 'E': return "Stream Stop";
            case 'c': return "Stream Commit";
            case 'A': return "Stream Abort";
            case 'b': return "Begin Prepare";
            case 'P': return "Prepare";
            case 'K': return "Commit Prepared";
            case 'r': return "Rollback Prepared";
            case 'p': return "Stream Prepare";
            default: return null;
        }
    }

    private static WalMessage.Begin begin(ByteReader in) {
        Lsn finalLsn = Lsn.of(in.i64());
        long commitMicros = in.i64();
        long xid = Integer.toUnsignedLong(in.i32());
        return new WalMessage.Begin(finalLsn, PgTime.toInstant(commitMicros), xid);
    }

    private static WalMessage.Commit commit(ByteReader in) {
        int flags = in.u8();
        Lsn commitLsn = Lsn.of(in.i64());
        Lsn endLsn = Lsn.of(in.i64());
        long commitMicros = in.i64();
        return new WalMessage.Commit(flags, commitLsn, endLsn, PgTime.toInstant(commitMicros));
    }

    private static WalMessage.Origin origin(ByteReader in) {
        Lsn commitLsn = Lsn.of(in.i64());
        return new WalMessage.Origin(commitLsn, in.cstring());
    }

    private static WalMessage.Relation relation(ByteReader in) {
        int relationId = in.i32();
        String namespace = in.cstring();
        String name = in.cstring();
        char replicaIdentity = (char) in.u8();
        int count = in.i16();
        if (count < 0) {
            throw in.error("a non-negative column count", String.valueOf(count));
        }
        List<WalMessage.Relation.Column> columns = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int flags = in.u8();
            String columnName = in.cstring();
            int typeOid = in.i32();
            int typeModifier = in.i32();
            columns.add(new WalMessage.Relation.Column(flags, columnName, typeOid, typeModifier));
        }
        return new WalMessage.Relation(relationId, namespace, name, replicaIdentity, columns);
    }

    private static WalMessage.TypeInfo typeInfo(ByteReader in) {
        int typeOid = in.i32();
        String namespace = in.cstring();
        return new WalMessage.TypeInfo(typeOid, namespace, in.cstring());
    }

    private static WalMessage.Insert insert(ByteReader in) {
        int relationId = in.i32();
        expectMarker(in, 'N', "'N' (new tuple)");
        return new WalMessage.Insert(relationId, TupleData.read(in));
    }

    private static WalMessage.Update update(ByteReader in) {
        int relationId = in.i32();
        int marker = in.u8();
        char oldKind = WalMessage.Update.OLD_NONE;
        TupleData oldTuple = null;
        if (marker == 'K' || marker == 'O') {
            oldKind = (char) marker;
            oldTuple = TupleData.read(in);
            marker = in.u8();
        } else if (marker != 'N') {
            throw markerError(in, "'K', 'O' (old tuple) or 'N' (new tuple)", marker);
        }
        if (marker != 'N') {
            throw markerError(in, "'N' (new tuple)", marker);
        }
        return new WalMessage.Update(relationId, oldKind, oldTuple, TupleData.read(in));
    }

    private static WalMessage.Delete delete(ByteReader in) {
        int relationId = in.i32();
        int marker = in.u8();
        if (marker != 'K' && marker != 'O') {
            throw markerError(in, "'K' or 'O' (old tuple)", marker);
        }
        return new WalMessage.Delete(relationId, (char) marker, TupleData.read(in));
    }

    private static WalMessage.Truncate truncate(ByteReader in) {
        int count = in.i32();
        int options = in.u8();
        // Check before allocating, so a corrupt count cannot ask for an 8 GiB array.
        if (count < 0 || count > in.remaining() / Integer.BYTES) {
            throw in.error("a relation count that fits the " + ByteReader.plural(in.remaining(), "byte") + " left",
                    String.valueOf(count));
        }
        int[] relationIds = new int[count];
        for (int i = 0; i < count; i++) {
            relationIds[i] = in.i32();
        }
        return new WalMessage.Truncate(options, relationIds);
    }

    private static WalMessage.LogicalMessage logicalMessage(ByteReader in) {
        int flags = in.u8();
        Lsn lsn = Lsn.of(in.i64());
        String prefix = in.cstring();
        int length = in.i32();
        byte[] content = in.bytes(length);
        return new WalMessage.LogicalMessage(
                (flags & WalMessage.LogicalMessage.FLAG_TRANSACTIONAL) != 0, lsn, prefix, content);
    }

    private static void expectMarker(ByteReader in, char wanted, String description) {
        int marker = in.u8();
        if (marker != wanted) {
            throw markerError(in, description, marker);
        }
    }

    /** Reports a wrong marker byte at its own offset (the one just read). */
    private static ProtocolException markerError(ByteReader in, String expected, int marker) {
        return new ProtocolException(in.messageType(), in.offset() - 1, expected,
                ProtocolException.typeName((char) marker));
    }
}
