package io.pgmesh.wal;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The column values of one row as pgoutput sends them (a {@code TupleData} block): per column a
 * {@link Kind} and, for {@link Kind#TEXT} and {@link Kind#BINARY}, the value bytes.
 *
 * <p>This sits on the hot path (one or two per replicated row), so it is compact: a decoded tuple
 * is one byte array holding the whole wire block, copied once, plus two small index arrays; there
 * is no object per column. Text is decoded from UTF-8 on each call to {@link #text(int)}.
 * Instances are immutable; {@link #binary(int)} returns a copy.
 *
 * <p>Columns are in the order of the {@link WalMessage.Relation} message for the table, and
 * tuples compare equal when they have the same kinds and value bytes.
 */
public final class TupleData {

    /** What pgoutput sent for a column. */
    public enum Kind {
        /** SQL NULL ({@code 'n'}). */
        NULL('n'),
        /** A TOASTed value that did not change and was not sent ({@code 'u'}); keep the old one. */
        UNCHANGED_TOAST('u'),
        /** The value's text output form, UTF-8 ({@code 't'}). */
        TEXT('t'),
        /** The value's binary send form ({@code 'b'}, only with the {@code binary} option). */
        BINARY('b');

        private static final Kind[] VALUES = values();

        private final char code;

        Kind(char code) {
            this.code = code;
        }

        /** The wire byte: {@code 'n'}, {@code 'u'}, {@code 't'} or {@code 'b'}. */
        public char code() {
            return code;
        }

        /** The kind for a wire byte, or null if the byte is not one of the four. */
        static Kind fromCode(int code) {
            switch (code) {
                case 'n': return NULL;
                case 'u': return UNCHANGED_TOAST;
                case 't': return TEXT;
                case 'b': return BINARY;
                default: return null;
            }
        }
    }

    private static final int TO_STRING_MAX_CHARS = 40;
    private static final int TO_STRING_MAX_BYTES = 16;

    /** Kind ordinal per column. */
    private final byte[] kinds;
    /** Start of each column's value in {@link #data}; unused for NULL and UNCHANGED_TOAST. */
    private final int[] offsets;
    /** Byte length of each column's value; 0 for NULL and UNCHANGED_TOAST. */
    private final int[] lengths;
    private final byte[] data;

    private TupleData(byte[] kinds, int[] offsets, int[] lengths, byte[] data) {
        this.kinds = kinds;
        this.offsets = offsets;
        this.lengths = lengths;
        this.data = data;
    }

    /**
     * Reads a TupleData block (column count, then the columns) at the reader's position.
     * Validates it in one pass, then copies the whole block with one bulk copy; the values are
     * addressed inside that copy, so nothing is copied per column.
     */
    static TupleData read(ByteReader in) {
        int count = in.i16();
        if (count < 0) {
            throw in.error("a non-negative column count", String.valueOf(count));
        }
        int blockStart = in.offset();
        byte[] kinds = new byte[count];
        int[] offsets = new int[count];
        int[] lengths = new int[count];
        for (int i = 0; i < count; i++) {
            int code = in.u8();
            Kind kind = Kind.fromCode(code);
            if (kind == null) {
                throw new ProtocolException(in.messageType(), in.offset() - 1,
                        "column kind 'n', 'u', 't' or 'b' for column " + i, describeByte(code));
            }
            kinds[i] = (byte) kind.ordinal();
            if (kind == Kind.TEXT || kind == Kind.BINARY) {
                int length = in.i32();
                offsets[i] = in.offset() - blockStart;
                lengths[i] = length;
                in.skip(length);
            }
        }
        byte[] data = in.copyRange(blockStart, in.offset());
        return new TupleData(kinds, offsets, lengths, data);
    }

    private static String describeByte(int b) {
        return b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("0x%02X", b);
    }

    /** Number of columns. */
    public int size() {
        return kinds.length;
    }

    /** What was sent for column {@code i} (0-based). */
    public Kind kind(int i) {
        return Kind.VALUES[kinds[Objects.checkIndex(i, kinds.length)]];
    }

    /** True if column {@code i} is SQL NULL. */
    public boolean isNull(int i) {
        return kind(i) == Kind.NULL;
    }

    /** True if column {@code i} is an unchanged TOASTed value that was not sent. */
    public boolean isUnchangedToast(int i) {
        return kind(i) == Kind.UNCHANGED_TOAST;
    }

    /**
     * The text form of column {@code i}, decoded from UTF-8.
     *
     * @throws IllegalStateException if the column is not {@link Kind#TEXT}
     */
    public String text(int i) {
        requireKind(i, Kind.TEXT);
        return new String(data, offsets[i], lengths[i], StandardCharsets.UTF_8);
    }

    /**
     * A copy of the binary form of column {@code i}.
     *
     * @throws IllegalStateException if the column is not {@link Kind#BINARY}
     */
    public byte[] binary(int i) {
        requireKind(i, Kind.BINARY);
        return Arrays.copyOfRange(data, offsets[i], offsets[i] + lengths[i]);
    }

    /** Byte length of the value of column {@code i}; 0 for NULL and unchanged TOAST. */
    public int valueLength(int i) {
        return lengths[Objects.checkIndex(i, lengths.length)];
    }

    private void requireKind(int i, Kind wanted) {
        Kind actual = kind(i);
        if (actual != wanted) {
            throw new IllegalStateException("column " + i + " is " + actual + ", not " + wanted);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TupleData)) {
            return false;
        }
        TupleData other = (TupleData) o;
        if (!Arrays.equals(kinds, other.kinds)) {
            return false;
        }
        for (int i = 0; i < kinds.length; i++) {
            if (!Arrays.equals(data, offsets[i], offsets[i] + lengths[i],
                    other.data, other.offsets[i], other.offsets[i] + other.lengths[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Arrays.hashCode(kinds);
        for (int i = 0; i < kinds.length; i++) {
            for (int j = offsets[i], end = offsets[i] + lengths[i]; j < end; j++) {
                h = 31 * h + data[j];
            }
        }
        return h;
    }

    /** E.g. {@code TupleData[4]{'42', NULL, <unchanged toast>, \x0102}}; long values are cut. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("TupleData[").append(size()).append("]{");
        for (int i = 0; i < size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            appendValue(sb, i);
        }
        return sb.append('}').toString();
    }

    private void appendValue(StringBuilder sb, int i) {
        switch (kind(i)) {
            case NULL:
                sb.append("NULL");
                break;
            case UNCHANGED_TOAST:
                sb.append("<unchanged toast>");
                break;
            case TEXT:
                String text = text(i);
                if (text.length() <= TO_STRING_MAX_CHARS) {
                    sb.append('\'').append(text).append('\'');
                } else {
                    sb.append('\'').append(text, 0, TO_STRING_MAX_CHARS)
                            .append("'...(").append(text.length()).append(" chars)");
                }
                break;
            case BINARY:
                sb.append("\\x");
                int shown = Math.min(lengths[i], TO_STRING_MAX_BYTES);
                for (int j = 0; j < shown; j++) {
                    sb.append(String.format("%02x", data[offsets[i] + j] & 0xFF));
                }
                if (shown < lengths[i]) {
                    sb.append("...(").append(lengths[i]).append(" bytes)");
                }
                break;
            default:
                throw new AssertionError(kind(i));
        }
    }

    /**
     * Builds a tuple by hand, for tests of the stages after decode and for synthetic rows.
     * Not used by the decoder.
     */
    public static final class Builder {
        private byte[] kinds = new byte[8];
        private int[] offsets = new int[8];
        private int[] lengths = new int[8];
        private byte[] data = new byte[64];
        private int size;
        private int dataSize;

        /** Appends a NULL column. */
        public Builder addNull() {
            return add(Kind.NULL, null);
        }

        /** Appends an unchanged-TOAST column. */
        public Builder addUnchangedToast() {
            return add(Kind.UNCHANGED_TOAST, null);
        }

        /** Appends a text column; {@code null} appends a NULL column. */
        public Builder addText(String value) {
            return value == null ? addNull() : add(Kind.TEXT, value.getBytes(StandardCharsets.UTF_8));
        }

        /** Appends a binary column (the bytes are copied); {@code null} appends a NULL column. */
        public Builder addBinary(byte[] value) {
            return value == null ? addNull() : add(Kind.BINARY, value);
        }

        private Builder add(Kind kind, byte[] value) {
            if (size == kinds.length) {
                kinds = Arrays.copyOf(kinds, size * 2);
                offsets = Arrays.copyOf(offsets, size * 2);
                lengths = Arrays.copyOf(lengths, size * 2);
            }
            kinds[size] = (byte) kind.ordinal();
            if (value != null) {
                if (dataSize + value.length > data.length) {
                    data = Arrays.copyOf(data, Math.max(data.length * 2, dataSize + value.length));
                }
                System.arraycopy(value, 0, data, dataSize, value.length);
                offsets[size] = dataSize;
                lengths[size] = value.length;
                dataSize += value.length;
            }
            size++;
            return this;
        }

        /** The tuple built so far; the builder may be reused afterwards. */
        public TupleData build() {
            return new TupleData(Arrays.copyOf(kinds, size), Arrays.copyOf(offsets, size),
                    Arrays.copyOf(lengths, size), Arrays.copyOf(data, dataSize));
        }
    }

    /** Shorthand for a tuple of text columns; a {@code null} element is a NULL column. */
    public static TupleData ofText(String... values) {
        Builder b = new Builder();
        for (String v : values) {
            b.addText(v);
        }
        return b.build();
    }
}
