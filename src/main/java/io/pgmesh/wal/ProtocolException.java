package io.pgmesh.wal;

/**
 * A pgoutput message that does not match the wire format: too short, an unknown message type, an
 * unexpected marker byte, a negative length, or bytes left over after a complete message.
 *
 * <p>It carries where decoding stopped so the bad message can be found in a hex dump: the message
 * type byte, the byte offset from the start of the message (the type byte is offset 0), what the
 * decoder expected there and what it found. Malformed input from the server is never retryable.
 */
public final class ProtocolException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final char messageType;
    private final int offset;
    private final String expected;
    private final String actual;

    /**
     * @param messageType the message type byte ({@code 'I'}, {@code 'U'}, ...), or {@code '\0'} if
     *     not even that could be read
     * @param offset byte offset from the start of the message where decoding stopped
     * @param expected what the decoder needed at that offset, e.g. {@code "int32 (4 bytes)"}
     * @param actual what it found, e.g. {@code "2 bytes left"}
     */
    public ProtocolException(char messageType, int offset, String expected, String actual) {
        super(describe(messageType, offset, expected, actual));
        this.messageType = messageType;
        this.offset = offset;
        this.expected = expected;
        this.actual = actual;
    }

    /** The message type byte, or {@code '\0'} if the message was empty. */
    public char messageType() {
        return messageType;
    }

    /** Byte offset from the start of the message (the type byte is offset 0). */
    public int offset() {
        return offset;
    }

    /** What the decoder needed at {@link #offset()}. */
    public String expected() {
        return expected;
    }

    /** What it found instead. */
    public String actual() {
        return actual;
    }

    /** Renders a type byte for messages: {@code 'I'} when printable ASCII, {@code 0x05} otherwise. */
    static String typeName(char type) {
        return type >= 0x20 && type < 0x7f ? "'" + type + "'" : String.format("0x%02X", (int) type);
    }

    private static String describe(char type, int offset, String expected, String actual) {
        return "malformed pgoutput message " + typeName(type) + " at offset " + offset
                + ": expected " + expected + ", got " + actual;
    }
}
