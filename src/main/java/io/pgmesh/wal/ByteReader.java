package io.pgmesh.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The one bounds-checked reader for pgoutput messages. Every read checks what is left and turns an
 * underflow into a {@link ProtocolException} naming the message type, the offset, what was
 * expected and what was there, instead of a bare {@code BufferUnderflowException}.
 *
 * <p>The reader works on its own big-endian view of the buffer: it reads from the buffer's
 * position to its limit, never changes the caller's position, limit or byte order, and does not
 * assume the buffer is array-backed or starts at position 0. {@link #offset()} counts from the
 * position the buffer had when the reader was created, which for a whole message is its type
 * byte. Strings are decoded as UTF-8 (pgmesh requires {@code server_encoding = UTF8}).
 *
 * <h2>pgoutput wire format, protocol version 1</h2>
 *
 * All integers are big-endian and signed on the wire ({@code Int8/16/32/64}); OIDs and xids are
 * unsigned 32-bit values carried in an {@code Int32}. {@code String} is UTF-8 bytes ended by a
 * NUL. {@code Timestamp} is an {@code Int64} of microseconds since 2000-01-01 00:00:00 UTC (see
 * {@link PgTime}). A namespace of {@code ""} means {@code pg_catalog}.
 *
 * <pre>
 * Type  Message   Fields after the type byte, in order
 * ----  --------  ---------------------------------------------------------------------------
 * 'B'   Begin     Int64 final LSN of the transaction (its commit record)
 *                 Timestamp commit time
 *                 Int32 xid
 * 'C'   Commit    Int8 flags (currently always 0)
 *                 Int64 commit LSN
 *                 Int64 end LSN of the transaction
 *                 Timestamp commit time
 * 'O'   Origin    Int64 commit LSN on the origin server
 *                 String origin name
 * 'R'   Relation  Int32 relation OID
 *                 String namespace
 *                 String relation name
 *                 Int8 replica identity: 'd' default, 'n' nothing, 'f' full, 'i' index
 *                 Int16 column count, then per column:
 *                   Int8 flags (bit 1 = part of the replica identity key)
 *                   String column name
 *                   Int32 type OID
 *                   Int32 type modifier (atttypmod, -1 if none)
 * 'Y'   Type      Int32 type OID
 *                 String namespace
 *                 String type name
 * 'I'   Insert    Int32 relation OID
 *                 Byte1 'N', TupleData new row
 * 'U'   Update    Int32 relation OID
 *                 optional: Byte1 'K' (old key columns) or 'O' (whole old row), TupleData old
 *                 Byte1 'N', TupleData new row
 * 'D'   Delete    Int32 relation OID
 *                 Byte1 'K' (old key columns) or 'O' (whole old row), TupleData old
 * 'T'   Truncate  Int32 relation count n
 *                 Int8 options: 1 = CASCADE, 2 = RESTART IDENTITY
 *                 n times Int32 relation OID
 * 'M'   Message   Int8 flags: 1 = transactional
 *                 Int64 LSN of the message
 *                 String prefix
 *                 Int32 content length n, then n bytes of content
 *
 * TupleData       Int16 column count, then per column a Byte1 kind:
 *                   'n'  NULL, no value follows
 *                   'u'  unchanged TOASTed value, not sent
 *                   't'  Int32 length n, then n bytes: the value's text form
 *                   'b'  Int32 length n, then n bytes: the value's binary (send) form
 * </pre>
 *
 * 'K' old tuples hold only the key columns (the others are NULL); 'O' is sent under
 * {@code REPLICA IDENTITY FULL}. 'b' columns appear only with the {@code binary} option and 'M'
 * only with the {@code messages} option. Streaming messages ('S', 'E', 'c', 'A') and two-phase
 * messages need later protocol versions and are not part of version 1.
 */
public final class ByteReader {

    private final ByteBuffer buf;
    private final int start;
    private final char messageType;

    /**
     * @param message the bytes to read, from its position to its limit; not modified
     * @param messageType the type byte reported in exceptions
     */
    public ByteReader(ByteBuffer message, char messageType) {
        // duplicate() shares the bytes; it only gives us our own position and byte order.
        this.buf = message.duplicate().order(ByteOrder.BIG_ENDIAN);
        this.start = buf.position();
        this.messageType = messageType;
    }

    /** The message type this reader reports in exceptions. */
    public char messageType() {
        return messageType;
    }

    /** Bytes read so far, i.e. the offset of the next byte from the start of the message. */
    public int offset() {
        return buf.position() - start;
    }

    /** Bytes left to read. */
    public int remaining() {
        return buf.remaining();
    }

    /** Reads an unsigned byte, 0 to 255. */
    public int u8() {
        require(1, "int8 (1 byte)");
        return buf.get() & 0xFF;
    }

    /** Reads a signed 16-bit integer, sign-extended to {@code int}. */
    public int i16() {
        require(2, "int16 (2 bytes)");
        return buf.getShort();
    }

    /** Reads a signed 32-bit integer. */
    public int i32() {
        require(4, "int32 (4 bytes)");
        return buf.getInt();
    }

    /** Reads a signed 64-bit integer. */
    public long i64() {
        require(8, "int64 (8 bytes)");
        return buf.getLong();
    }

    /** Reads a NUL-terminated UTF-8 string and consumes the NUL. */
    public String cstring() {
        int from = buf.position();
        int limit = buf.limit();
        int nul = from;
        while (nul < limit && buf.get(nul) != 0) {
            nul++;
        }
        if (nul == limit) {
            throw error("NUL-terminated string", "no NUL in the " + plural(limit - from, "byte") + " left");
        }
        String s = utf8(from, nul - from);
        buf.position(nul + 1);
        return s;
    }

    /** Reads {@code n} bytes into a new array. */
    public byte[] bytes(int n) {
        checkLength(n);
        require(n, plural(n, "byte"));
        byte[] out = new byte[n];
        buf.get(out);
        return out;
    }

    /** Skips {@code n} bytes. */
    public void skip(int n) {
        checkLength(n);
        require(n, plural(n, "byte"));
        buf.position(buf.position() + n);
    }

    /** Throws unless every byte has been read; a complete message must not have trailing bytes. */
    public void expectEnd() {
        if (buf.hasRemaining()) {
            throw error("end of message", plural(buf.remaining(), "trailing byte"));
        }
    }

    /**
     * Copies already-read bytes {@code [fromOffset, toOffset)} (offsets as {@link #offset()})
     * without moving the position. Lets a caller validate a region by reading it, then copy it in
     * one bulk operation.
     */
    byte[] copyRange(int fromOffset, int toOffset) {
        if (fromOffset < 0 || fromOffset > toOffset || toOffset > offset()) {
            throw new IndexOutOfBoundsException(
                    "range [" + fromOffset + ", " + toOffset + ") outside the " + offset() + " bytes read");
        }
        byte[] out = new byte[toOffset - fromOffset];
        buf.get(start + fromOffset, out);
        return out;
    }

    /** A {@link ProtocolException} at the current offset. */
    ProtocolException error(String expected, String actual) {
        return new ProtocolException(messageType, offset(), expected, actual);
    }

    private void require(int n, String what) {
        if (buf.remaining() < n) {
            throw error(what, plural(buf.remaining(), "byte") + " left");
        }
    }

    private void checkLength(int n) {
        if (n < 0) {
            throw error("a non-negative length", String.valueOf(n));
        }
    }

    private String utf8(int index, int length) {
        if (buf.hasArray()) {
            return new String(buf.array(), buf.arrayOffset() + index, length, StandardCharsets.UTF_8);
        }
        byte[] tmp = new byte[length];
        buf.get(index, tmp);
        return new String(tmp, StandardCharsets.UTF_8);
    }

    static String plural(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
