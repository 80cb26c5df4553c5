package io.pgmesh.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ByteReaderTest {

    private static ByteReader reader(byte[] bytes) {
        return new ByteReader(ByteBuffer.wrap(bytes), 'X');
    }

    @Test
    void readsBigEndianIntegersWithSigns() {
        ByteReader in = reader(new Wire().u8(0xFF).i16(-2).i32(0x8000_0000).i64(-3L)
                .i16(0x7FFF).bytes());
        assertEquals(255, in.u8(), "u8 is unsigned");
        assertEquals(-2, in.i16(), "i16 is sign-extended");
        assertEquals(Integer.MIN_VALUE, in.i32(), "i32 big-endian");
        assertEquals(-3L, in.i64(), "i64 big-endian");
        assertEquals(0x7FFF, in.i16(), "positive i16");
        assertEquals(17, in.offset(), "offset counts every byte read");
        assertEquals(0, in.remaining(), "nothing left");
        in.expectEnd();
    }

    @Test
    void cstringDecodesUtf8AndConsumesTheNul() {
        String s = "päivää 🌞";
        ByteReader in = reader(new Wire().cstring(s).cstring("").u8(7).bytes());
        assertEquals(s, in.cstring(), "UTF-8, including a surrogate pair");
        assertEquals("", in.cstring(), "a lone NUL is the empty string");
        assertEquals(7, in.u8(), "the NULs were consumed, the next byte is intact");
    }

    @Test
    void cstringFromADirectBuffer() {
        byte[] bytes = new Wire().u8(1).cstring("ñandú").bytes();
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        ByteReader in = new ByteReader(direct, 'X');
        in.u8();
        assertEquals("ñandú", in.cstring(), "a buffer without an array is decoded by copying the string");
    }

    @Test
    void offsetsCountFromTheStartPositionAndTheSourceIsUntouched() {
        ByteBuffer buf = ByteBuffer.wrap(new byte[] {9, 9, 9, 0, 0, 0, 5});
        buf.position(3);
        ByteReader in = new ByteReader(buf, 'X');
        assertEquals(0, in.offset(), "offset 0 is the buffer's position, not index 0");
        assertEquals(5, in.i32(), "reads from the position");
        assertEquals(4, in.offset(), "offset after one int32");
        assertEquals(3, buf.position(), "the caller's buffer keeps its position");
    }

    @Test
    void underflowGivesTypeOffsetExpectedActual() {
        ByteReader in = reader(new byte[] {1, 2, 3});
        in.u8();
        ProtocolException e = assertThrows(ProtocolException.class, in::i32, "int32 needs 4 bytes, 2 are left");
        assertEquals('X', e.messageType(), "type given to the reader");
        assertEquals(1, e.offset(), "offset where the read started");
        assertEquals("int32 (4 bytes)", e.expected(), "expected");
        assertEquals("2 bytes left", e.actual(), "actual");
        assertEquals(1, in.offset(), "a failed read consumes nothing");
        assertThrows(ProtocolException.class, in::i64, "int64 underflow");
        assertThrows(ProtocolException.class, () -> in.bytes(3), "bytes underflow");
        assertThrows(ProtocolException.class, () -> in.skip(3), "skip underflow");
        assertEquals(0x0203, in.i16(), "the remaining two bytes are still readable");
        assertThrows(ProtocolException.class, in::u8, "u8 underflow at the end");
    }

    @Test
    void bytesSkipAndCopyRange() {
        ByteReader in = reader(new byte[] {1, 2, 3, 4, 5});
        assertArrayEquals(new byte[] {1, 2}, in.bytes(2), "bytes reads n bytes");
        in.skip(2);
        assertEquals(4, in.offset(), "skip advances");
        assertArrayEquals(new byte[] {2, 3, 4}, in.copyRange(1, 4), "copyRange copies read bytes by offset");
        assertEquals(4, in.offset(), "copyRange does not move the position");
        assertThrows(IndexOutOfBoundsException.class, () -> in.copyRange(3, 5), "cannot copy unread bytes");
        assertArrayEquals(new byte[0], in.bytes(0), "zero bytes is fine");
        ProtocolException e = assertThrows(ProtocolException.class, () -> in.bytes(-1), "negative length");
        assertEquals("-1", e.actual(), "the bad length is reported");
    }

    @Test
    void expectEndReportsTrailingBytes() {
        ByteReader in = reader("ab".getBytes(StandardCharsets.US_ASCII));
        ProtocolException e = assertThrows(ProtocolException.class, in::expectEnd, "two bytes unread");
        assertEquals(0, e.offset(), "offset of the first unread byte");
        assertEquals("2 trailing bytes", e.actual(), "count of trailing bytes");
    }
}
