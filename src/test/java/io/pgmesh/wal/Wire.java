package io.pgmesh.wal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Test-only builder of big-endian pgoutput bytes, for the decoder's tests and for stages after it. */
public final class Wire {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public static Wire message(char type) {
        return new Wire().u8(type);
    }

    public Wire u8(int v) {
        out.write(v);
        return this;
    }

    public Wire i16(int v) {
        return u8(v >>> 8).u8(v);
    }

    public Wire i32(int v) {
        return i16(v >>> 16).i16(v);
    }

    public Wire i64(long v) {
        return i32((int) (v >>> 32)).i32((int) v);
    }

    public Wire raw(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    public Wire cstring(String s) {
        return raw(s.getBytes(StandardCharsets.UTF_8)).u8(0);
    }

    public Wire nullColumn() {
        return u8('n');
    }

    public Wire toastColumn() {
        return u8('u');
    }

    public Wire textColumn(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u8('t').i32(b.length).raw(b);
    }

    public Wire binaryColumn(byte[] b) {
        return u8('b').i32(b.length).raw(b);
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    public ByteBuffer buffer() {
        return ByteBuffer.wrap(bytes());
    }
}
