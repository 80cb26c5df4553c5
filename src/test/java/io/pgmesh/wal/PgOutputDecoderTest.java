package io.pgmesh.wal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.TupleData.Kind;
import io.pgmesh.wal.WalMessage.Begin;
import io.pgmesh.wal.WalMessage.Commit;
import io.pgmesh.wal.WalMessage.Delete;
import io.pgmesh.wal.WalMessage.Insert;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import io.pgmesh.wal.WalMessage.Origin;
import io.pgmesh.wal.WalMessage.Relation;
import io.pgmesh.wal.WalMessage.Truncate;
import io.pgmesh.wal.WalMessage.TypeInfo;
import io.pgmesh.wal.WalMessage.Update;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class PgOutputDecoderTest {

    private static final Instant PG_EPOCH = Instant.parse("2000-01-01T00:00:00Z");
    private static final Instant COMMIT_TIME = Instant.parse("2024-03-01T12:34:56.123456Z");
    /** Computed independently of PgTime so the decoder's conversion is really checked. */
    private static final long COMMIT_MICROS = ChronoUnit.MICROS.between(PG_EPOCH, COMMIT_TIME);
    private static final String NON_ASCII = "Grüße, 世界 🚀 ÅÄÖ";

    private static WalMessage decode(Wire wire) {
        return PgOutputDecoder.decode(wire.buffer());
    }

    private static ProtocolException decodeFails(byte[] bytes, String why) {
        return assertThrows(ProtocolException.class, () -> PgOutputDecoder.decode(ByteBuffer.wrap(bytes)), why);
    }

    // ---- one test per message type -------------------------------------------------------------

    @Test
    void beginKeepsMicrosecondsAndReadsXidUnsigned() {
        Begin begin = assertInstanceOf(Begin.class, decode(
                Wire.message('B').i64(0x16_B374_D848L).i64(COMMIT_MICROS).i32(0xFFFF_FFFE)));
        assertEquals(Lsn.parse("16/B374D848"), begin.finalLsn(), "finalLsn is the first int64");
        assertEquals(COMMIT_TIME, begin.commitTime(), "commit time must keep all six fractional digits");
        assertEquals(4_294_967_294L, begin.xid(), "xids are unsigned 32-bit: 0xFFFFFFFE must not go negative");
    }

    @Test
    void commitReadsFlagsBothLsnsAndTime() {
        Commit commit = assertInstanceOf(Commit.class, decode(
                Wire.message('C').u8(0).i64(0x100L).i64(0x128L).i64(COMMIT_MICROS)));
        assertEquals(new Commit(0, Lsn.of(0x100), Lsn.of(0x128), COMMIT_TIME), commit,
                "fields in wire order: flags, commitLsn, endLsn, commitTime");
    }

    @Test
    void originReadsCommitLsnAndName() {
        Origin origin = assertInstanceOf(Origin.class, decode(
                Wire.message('O').i64(-1L).cstring("pgmesh_node_2")));
        assertEquals(Lsn.parse("FFFFFFFF/FFFFFFFF"), origin.commitLsn(), "an LSN with the top bit set stays unsigned");
        assertEquals("pgmesh_node_2", origin.name(), "origin name is the NUL-terminated string");
    }

    @Test
    void relationReadsColumnsKeysAndTypeModifiers() {
        Relation relation = assertInstanceOf(Relation.class, decode(Wire.message('R')
                .i32(16_385).cstring("public").cstring("tëst_table").u8('f').i16(3)
                .u8(1).cstring("id").i32(23).i32(-1)
                .u8(0).cstring("näme").i32(1043).i32(68)
                .u8(0).cstring("payload").i32(17).i32(-1)));
        assertEquals(16_385, relation.relationId(), "relation OID");
        assertEquals("public", relation.namespace(), "namespace");
        assertEquals("tëst_table", relation.name(), "non-ASCII relation name is UTF-8");
        assertEquals(Relation.REPLICA_IDENTITY_FULL, relation.replicaIdentity(), "replica identity byte");
        assertEquals(List.of(
                new Relation.Column(1, "id", 23, -1),
                new Relation.Column(0, "näme", 1043, 68),
                new Relation.Column(0, "payload", 17, -1)), relation.columns(), "columns in wire order");
        assertTrue(relation.columns().get(0).isKey(), "flag bit 1 marks a key column");
        assertFalse(relation.columns().get(1).isKey(), "flags 0 is not a key column");
        assertThrows(UnsupportedOperationException.class, () -> relation.columns().add(null),
                "a Relation is immutable: its column list too");
    }

    @Test
    void relationInPgCatalogWithNoColumns() {
        Relation relation = assertInstanceOf(Relation.class, decode(Wire.message('R')
                .i32(0x8000_0001).cstring("").cstring("empty").u8('n').i16(0)));
        assertEquals("", relation.namespace(), "pg_catalog is sent as an empty namespace");
        assertEquals(0x8000_0001, relation.relationId(), "OIDs above 2^31 are carried in the int bits unchanged");
        assertEquals(List.of(), relation.columns(), "a table may have zero columns");
    }

    @Test
    void typeReadsOidNamespaceAndName() {
        assertEquals(new TypeInfo(90_000, "app", "mood"),
                decode(Wire.message('Y').i32(90_000).cstring("app").cstring("mood")),
                "'Y' is type OID, namespace, name");
    }

    @Test
    void insertReadsEveryColumnKind() {
        byte[] bin = {0, 1, (byte) 0xFF, (byte) 0x80};
        Insert insert = assertInstanceOf(Insert.class, decode(Wire.message('I').i32(16_385).u8('N').i16(6)
                .textColumn("42").nullColumn().toastColumn().binaryColumn(bin).textColumn(NON_ASCII)
                .textColumn("")));
        assertEquals(16_385, insert.relationId(), "relation OID");
        TupleData row = insert.newTuple();
        assertEquals(6, row.size(), "column count");
        assertEquals(List.of(Kind.TEXT, Kind.NULL, Kind.UNCHANGED_TOAST, Kind.BINARY, Kind.TEXT, Kind.TEXT),
                List.of(row.kind(0), row.kind(1), row.kind(2), row.kind(3), row.kind(4), row.kind(5)),
                "kinds n/u/t/b map to the enum");
        assertEquals("42", row.text(0), "text value");
        assertTrue(row.isNull(1), "'n' is NULL");
        assertTrue(row.isUnchangedToast(2), "'u' is unchanged TOAST");
        assertFalse(row.isNull(2), "unchanged TOAST is not NULL: the old value must be kept");
        assertArrayEquals(bin, row.binary(3), "binary bytes come back unchanged, high bits included");
        assertEquals(NON_ASCII, row.text(4), "text is UTF-8, including characters outside the BMP");
        assertEquals("", row.text(5), "an empty string is TEXT of length 0, not NULL");
        assertEquals(NON_ASCII.getBytes(StandardCharsets.UTF_8).length, row.valueLength(4), "byte length, not chars");
    }

    @Test
    void updateWithoutOldTuple() {
        Update update = assertInstanceOf(Update.class, decode(Wire.message('U').i32(7).u8('N').i16(2)
                .textColumn("1").toastColumn()));
        assertEquals(Update.OLD_NONE, update.oldKind(), "no 'K'/'O' section means oldKind '\\0'");
        assertNull(update.oldTuple(), "no old tuple was sent");
        assertFalse(update.hasOldTuple(), "hasOldTuple agrees with oldTuple");
        assertEquals(new TupleData.Builder().addText("1").addUnchangedToast().build(), update.newTuple(),
                "new tuple");
    }

    @Test
    void updateWithOldKey() {
        Update update = assertInstanceOf(Update.class, decode(Wire.message('U').i32(7)
                .u8('K').i16(2).textColumn("1").nullColumn()
                .u8('N').i16(2).textColumn("2").textColumn("x")));
        assertEquals('K', update.oldKind(), "'K' marks an old key (the key changed)");
        assertEquals(TupleData.ofText("1", null), update.oldTuple(), "old key tuple: non-key columns are NULL");
        assertEquals(TupleData.ofText("2", "x"), update.newTuple(), "new tuple follows 'N'");
    }

    @Test
    void updateWithWholeOldRow() {
        Update update = assertInstanceOf(Update.class, decode(Wire.message('U').i32(7)
                .u8('O').i16(2).textColumn("1").textColumn("old")
                .u8('N').i16(2).textColumn("1").textColumn("new")));
        assertEquals('O', update.oldKind(), "'O' marks the whole old row (REPLICA IDENTITY FULL)");
        assertEquals(TupleData.ofText("1", "old"), update.oldTuple(), "old row");
        assertEquals(TupleData.ofText("1", "new"), update.newTuple(), "new row");
    }

    @ParameterizedTest
    @ValueSource(chars = {'K', 'O'})
    void deleteWithKeyOrWholeRow(char kind) {
        Delete delete = assertInstanceOf(Delete.class, decode(Wire.message('D').i32(9).u8(kind).i16(1)
                .textColumn("17")));
        assertEquals(new Delete(9, kind, TupleData.ofText("17")), delete, "delete keeps the old-tuple kind " + kind);
    }

    @Test
    void truncateReadsOptionsAndRelations() {
        Map<Integer, List<Boolean>> expected = Map.of(0, List.of(false, false), 1, List.of(true, false),
                2, List.of(false, true), 3, List.of(true, true));
        expected.forEach((options, flags) -> {
            Truncate t = assertInstanceOf(Truncate.class, decode(Wire.message('T').i32(3).u8(options)
                    .i32(16_385).i32(16_390).i32(0xFFFF_FFF0)));
            assertEquals(options, t.options(), "options byte");
            assertEquals(flags, List.of(t.cascade(), t.restartIdentity()),
                    "options " + options + ": bit 1 is CASCADE, bit 2 is RESTART IDENTITY");
            assertArrayEquals(new int[] {16_385, 16_390, 0xFFFF_FFF0}, t.relationIds(), "relation OIDs in order");
        });
    }

    @Test
    void truncateOfNoRelationsAndImmutableIds() {
        Truncate t = assertInstanceOf(Truncate.class, decode(Wire.message('T').i32(0).u8(0)));
        assertEquals(0, t.relationIds().length, "a count of 0 is well formed");
        Truncate one = new Truncate(Truncate.CASCADE, new int[] {5});
        one.relationIds()[0] = 99;
        assertArrayEquals(new int[] {5}, one.relationIds(), "relationIds() must hand out a copy");
        assertEquals(one, new Truncate(1, new int[] {5}), "Truncate equality compares the ids, not the array");
    }

    @Test
    void logicalMessageTransactionalAndNot() {
        byte[] content = {1, 0, (byte) 0xFE};
        LogicalMessage tx = assertInstanceOf(LogicalMessage.class, decode(Wire.message('M').u8(1).i64(0x2A)
                .cstring("pgmesh").i32(3).raw(content)));
        assertEquals(new LogicalMessage(true, Lsn.of(0x2A), "pgmesh", content), tx, "flags 1 means transactional");
        LogicalMessage plain = assertInstanceOf(LogicalMessage.class, decode(Wire.message('M').u8(0).i64(0x2A)
                .cstring(NON_ASCII).i32(0)));
        assertFalse(plain.transactional(), "flags 0 means non-transactional");
        assertEquals(NON_ASCII, plain.prefix(), "prefix is UTF-8");
        assertEquals(0, plain.content().length, "empty content is allowed");
        tx.content()[0] = 9;
        assertEquals(1, tx.content()[0], "content() must hand out a copy");
    }

    // ---- timestamps -----------------------------------------------------------------------------

    @Test
    void pgTimeConvertsBothWaysExactly() {
        assertEquals(PG_EPOCH, PgTime.toInstant(0), "0 is 2000-01-01T00:00:00Z");
        assertEquals(Instant.parse("2000-01-01T00:00:01.000001Z"), PgTime.toInstant(1_000_001),
                "one second and one microsecond");
        assertEquals(Instant.parse("1999-12-31T23:59:59.999999Z"), PgTime.toInstant(-1),
                "negative micros are before 2000 and keep microsecond precision");
        assertEquals(COMMIT_TIME, PgTime.toInstant(COMMIT_MICROS), "a 2024 time with microseconds");
        for (long micros : new long[] {0, 1, -1, -1_000_001, COMMIT_MICROS, 1L << 53, -(1L << 53)}) {
            assertEquals(micros, PgTime.toPgMicros(PgTime.toInstant(micros)), "round trip of " + micros);
        }
        assertEquals(1L, PgTime.toPgMicros(PG_EPOCH.plusNanos(1_999)),
                "sub-microsecond digits are truncated, never rounded up into the future");
        assertEquals(-1L, PgTime.toPgMicros(PG_EPOCH.minusNanos(1)), "truncation before 2000 goes towards the past");
        assertThrows(ArithmeticException.class, () -> PgTime.toPgMicros(Instant.MAX),
                "instants outside the int64 microsecond range must not wrap silently");
    }

    // ---- malformed input ------------------------------------------------------------------------

    /** One well-formed message of every type, to cut short. */
    private static List<byte[]> samples() {
        return List.of(
                Wire.message('B').i64(1).i64(COMMIT_MICROS).i32(700).bytes(),
                Wire.message('C').u8(0).i64(1).i64(2).i64(COMMIT_MICROS).bytes(),
                Wire.message('O').i64(1).cstring("node").bytes(),
                Wire.message('R').i32(1).cstring("s").cstring("t").u8('d').i16(1)
                        .u8(1).cstring("id").i32(23).i32(-1).bytes(),
                Wire.message('Y').i32(1).cstring("s").cstring("t").bytes(),
                Wire.message('I').i32(1).u8('N').i16(3).textColumn("a").nullColumn()
                        .binaryColumn(new byte[] {1, 2}).bytes(),
                Wire.message('U').i32(1).u8('O').i16(1).textColumn("a").u8('N').i16(1).toastColumn().bytes(),
                Wire.message('D').i32(1).u8('K').i16(1).textColumn("a").bytes(),
                Wire.message('T').i32(2).u8(3).i32(1).i32(2).bytes(),
                Wire.message('M').u8(1).i64(1).cstring("p").i32(2).raw(new byte[] {1, 2}).bytes());
    }

    @Test
    void everyTruncationOfEveryMessageTypeIsAProtocolException() {
        for (byte[] full : samples()) {
            char type = (char) full[0];
            assertInstanceOf(WalMessage.class, PgOutputDecoder.decode(ByteBuffer.wrap(full)),
                    "the untruncated sample " + type + " must decode");
            for (int length = 1; length < full.length; length++) {
                byte[] cut = Arrays.copyOf(full, length);
                ProtocolException e = decodeFails(cut, type + " cut to " + length + " of " + full.length + " bytes");
                assertEquals(type, e.messageType(), "the exception must name the message type");
                assertTrue(e.offset() >= 1 && e.offset() <= length,
                        "offset " + e.offset() + " must lie inside the " + length + " bytes given");
            }
        }
    }

    @Test
    void underflowReportsTypeOffsetExpectedAndActual() {
        byte[] begin = Wire.message('B').i64(1).u8(0).bytes();
        ProtocolException e = decodeFails(begin, "Begin stops one byte into its commit time");
        assertEquals('B', e.messageType(), "type");
        assertEquals(9, e.offset(), "the commit time starts after the type byte and the 8-byte LSN");
        assertEquals("int64 (8 bytes)", e.expected(), "what was being read");
        assertEquals("1 byte left", e.actual(), "what was there");
        assertTrue(e.getMessage().contains("'B'") && e.getMessage().contains("offset 9")
                        && e.getMessage().contains("int64") && e.getMessage().contains("1 byte left"),
                "the message must state type, offset, expected and actual: " + e.getMessage());
    }

    @Test
    void stringWithoutNulIsRejected() {
        byte[] bytes = Wire.message('O').i64(1).raw("node".getBytes(StandardCharsets.UTF_8)).bytes();
        ProtocolException e = decodeFails(bytes, "origin name has no NUL terminator");
        assertEquals(9, e.offset(), "offset points at the start of the unterminated string");
        assertTrue(e.expected().contains("NUL"), "expected names the terminator: " + e.expected());
    }

    @ParameterizedTest
    @ValueSource(chars = {'X', 'S', 'E', 'c', 'A', 'P', 'k', 'w'})
    void unknownAndStreamingTypesAreRejectedByName(char type) {
        ProtocolException e = decodeFails(Wire.message(type).i64(1).bytes(), "type " + type + " is not version 1");
        assertEquals(type, e.messageType(), "the exception names the type");
        assertEquals(0, e.offset(), "the type byte itself is at fault");
        assertTrue(e.getMessage().contains("'" + type + "'"), "the message quotes the type: " + e.getMessage());
    }

    @Test
    void streamStartIsNamedAsStreaming() {
        ProtocolException e = decodeFails(Wire.message('S').i32(1).u8(1).bytes(), "streaming is not supported");
        assertTrue(e.actual().contains("Stream Start"), "a streaming message is named, not just 'unknown': "
                + e.actual());
    }

    @Test
    void emptyAndNonPrintableInput() {
        ProtocolException empty = decodeFails(new byte[0], "an empty buffer has no type byte");
        assertEquals('\0', empty.messageType(), "no type could be read");
        assertEquals(0, empty.offset(), "offset 0");
        ProtocolException binary = decodeFails(new byte[] {(byte) 0xC3}, "0xC3 is no message type");
        assertEquals((char) 0xC3, binary.messageType(), "type byte is read unsigned");
        assertTrue(binary.getMessage().contains("0xC3"), "non-printable types are shown in hex: " + binary.getMessage());
    }

    @Test
    void trailingBytesAfterACompleteMessageAreRejected() {
        byte[] bytes = Wire.message('B').i64(1).i64(COMMIT_MICROS).i32(700).u8(0).u8(0).bytes();
        ProtocolException e = decodeFails(bytes, "two bytes follow a complete Begin");
        assertEquals(21, e.offset(), "offset of the first extra byte (1 + 8 + 8 + 4)");
        assertEquals("2 trailing bytes", e.actual(), "how much was left over");
    }

    @Test
    void unknownTupleColumnKindIsRejectedAtItsOffset() {
        byte[] bytes = Wire.message('I').i32(1).u8('N').i16(2).nullColumn().u8('x').bytes();
        ProtocolException e = decodeFails(bytes, "'x' is not a column kind");
        assertEquals(9, e.offset(), "offset of the bad kind byte: 1 + 4 + 1 + 2 + 1");
        assertEquals("'x'", e.actual(), "the bad byte");
    }

    @Test
    void wrongMarkersAreRejected() {
        assertEquals(5, decodeFails(Wire.message('I').i32(1).u8('K').i16(0).bytes(),
                "an insert has only a new tuple").offset(), "insert marker offset");
        assertEquals(5, decodeFails(Wire.message('U').i32(1).u8('Z').i16(0).bytes(),
                "'Z' is no update section").offset(), "first update marker offset");
        assertEquals(8, decodeFails(Wire.message('U').i32(1).u8('K').i16(0).u8('O').i16(0).bytes(),
                "after an old key, only 'N' may follow").offset(), "second update marker offset");
        assertEquals(5, decodeFails(Wire.message('D').i32(1).u8('N').i16(0).bytes(),
                "a delete has an old tuple, never 'N'").offset(), "delete marker offset");
    }

    @Test
    void negativeLengthsAndCountsAreRejectedWithoutHugeAllocations() {
        decodeFails(Wire.message('I').i32(1).u8('N').i16(1).u8('t').i32(-1).bytes(), "negative value length");
        decodeFails(Wire.message('I').i32(1).u8('N').i16(-1).bytes(), "negative column count");
        decodeFails(Wire.message('R').i32(1).cstring("s").cstring("t").u8('d').i16(-2).bytes(),
                "negative relation column count");
        decodeFails(Wire.message('M').u8(0).i64(1).cstring("p").i32(-5).bytes(), "negative content length");
        decodeFails(Wire.message('M').u8(0).i64(1).cstring("p").i32(Integer.MAX_VALUE).bytes(),
                "content longer than the message");
        ProtocolException e = decodeFails(Wire.message('T').i32(Integer.MAX_VALUE).u8(0).i32(1).bytes(),
                "a relation count far beyond the message must fail before allocating");
        assertEquals(String.valueOf(Integer.MAX_VALUE), e.actual(), "the bad count is reported");
        decodeFails(Wire.message('I').i32(1).u8('N').i16(1).u8('b').i32(1_000_000).u8(1).bytes(),
                "value longer than the message");
    }

    // ---- buffers --------------------------------------------------------------------------------

    private static byte[] sampleInsert() {
        return Wire.message('I').i32(3).u8('N').i16(3).textColumn(NON_ASCII).nullColumn()
                .binaryColumn(new byte[] {7, 8}).bytes();
    }

    private static final TupleData SAMPLE_ROW =
            new TupleData.Builder().addText(NON_ASCII).addNull().addBinary(new byte[] {7, 8}).build();

    @Test
    void decodesDirectBuffers() {
        byte[] bytes = sampleInsert();
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length);
        direct.put(bytes).flip();
        assertEquals(new Insert(3, SAMPLE_ROW), PgOutputDecoder.decode(direct), "a direct buffer has no array");
        ByteBuffer readOnly = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        assertEquals(new Insert(3, SAMPLE_ROW), PgOutputDecoder.decode(readOnly), "a read-only buffer hides its array");
    }

    @Test
    void decodesFromAnyPositionAndSliceWithoutMovingIt() {
        byte[] bytes = sampleInsert();
        byte[] padded = new byte[bytes.length + 10];
        System.arraycopy(bytes, 0, padded, 7, bytes.length);
        ByteBuffer buf = ByteBuffer.wrap(padded, 7, bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(new Insert(3, SAMPLE_ROW), PgOutputDecoder.decode(buf),
                "message at position 7, little-endian view: the decoder must read big-endian from the position");
        assertEquals(7, buf.position(), "the caller's position is untouched");
        assertEquals(7 + bytes.length, buf.limit(), "the caller's limit is untouched");
        assertEquals(ByteOrder.LITTLE_ENDIAN, buf.order(), "the caller's byte order is untouched");
        ByteBuffer slice = ByteBuffer.wrap(padded, 7, bytes.length).slice();
        assertEquals(new Insert(3, SAMPLE_ROW), PgOutputDecoder.decode(slice), "a slice has a non-zero array offset");
        ProtocolException e = decodeFails(Arrays.copyOf(bytes, 8), "cut insert");
        ByteBuffer cutAtSeven = ByteBuffer.wrap(padded, 7, 8);
        assertEquals(e.offset(), assertThrows(ProtocolException.class, () -> PgOutputDecoder.decode(cutAtSeven),
                "cut insert at position 7").offset(), "offsets count from the message start, not the buffer's 0");
    }

    @Test
    void decodedTuplesDoNotShareTheSourceBuffer() {
        byte[] bytes = sampleInsert();
        Insert insert = assertInstanceOf(Insert.class, PgOutputDecoder.decode(ByteBuffer.wrap(bytes)));
        Arrays.fill(bytes, (byte) 0);
        assertEquals(SAMPLE_ROW, insert.newTuple(), "the receiver may reuse its buffer after decode");
    }

    // ---- TupleData ------------------------------------------------------------------------------

    @Test
    void tupleAccessorsCheckTheKind() {
        TupleData row = new TupleData.Builder().addNull().addUnchangedToast().addText("t").addBinary(new byte[] {1})
                .build();
        assertThrows(IllegalStateException.class, () -> row.text(0), "a NULL column has no text");
        assertThrows(IllegalStateException.class, () -> row.text(1), "an unchanged TOAST column has no text");
        assertThrows(IllegalStateException.class, () -> row.binary(2), "a TEXT column is not BINARY");
        assertThrows(IllegalStateException.class, () -> row.text(3), "a BINARY column is not TEXT");
        assertThrows(IndexOutOfBoundsException.class, () -> row.kind(4), "only 4 columns");
        assertThrows(IndexOutOfBoundsException.class, () -> row.kind(-1), "negative index");
        row.binary(3)[0] = 9;
        assertEquals(1, row.binary(3)[0], "binary() must hand out a copy: TupleData is immutable");
        assertEquals(Kind.NULL, row.kind(0), "builder NULL");
        assertEquals('u', row.kind(1).code(), "wire code of UNCHANGED_TOAST");
    }

    @Test
    void tupleEqualityIsByContent() {
        assertEquals(TupleData.ofText("a", null), new TupleData.Builder().addText("a").addNull().build(),
                "same kinds and bytes are equal");
        assertEquals(TupleData.ofText("a", null).hashCode(), new TupleData.Builder().addText("a").addNull().build()
                .hashCode(), "equal tuples hash alike");
        assertNotEquals(TupleData.ofText("a", null), TupleData.ofText("a", ""), "NULL differs from empty text");
        assertNotEquals(TupleData.ofText("a"), new TupleData.Builder().addBinary(new byte[] {'a'}).build(),
                "TEXT 'a' differs from BINARY 0x61");
        assertNotEquals(new TupleData.Builder().addNull().build(), new TupleData.Builder().addUnchangedToast().build(),
                "NULL differs from unchanged TOAST");
    }

    @Test
    void tupleToStringIsReadableAndTruncated() {
        String longText = "x".repeat(1000);
        byte[] longBinary = new byte[100];
        longBinary[0] = (byte) 0xAB;
        TupleData row = new TupleData.Builder().addText("42").addNull().addUnchangedToast().addBinary(new byte[] {1, 2})
                .addText(longText).addBinary(longBinary).build();
        String s = row.toString();
        assertTrue(s.startsWith("TupleData[6]{'42', NULL, <unchanged toast>, \\x0102, "), "short values in full: " + s);
        assertTrue(s.contains("(1000 chars)") && s.contains("\\xab00") && s.contains("(100 bytes)"),
                "long values are cut and their size shown: " + s);
        assertTrue(s.length() < 200, "a debug string must stay short however big the row is: " + s.length());
    }

    @Test
    void updateAndDeleteRecordsRejectInconsistentOldTuples() {
        TupleData t = TupleData.ofText("1");
        assertThrows(IllegalArgumentException.class, () -> new Update(1, 'K', null, t), "'K' needs an old tuple");
        assertThrows(IllegalArgumentException.class, () -> new Update(1, '\0', t, t), "no kind means no old tuple");
        assertThrows(IllegalArgumentException.class, () -> new Update(1, 'N', t, t), "'N' is not an old kind");
        assertThrows(IllegalArgumentException.class, () -> new Delete(1, 'N', t), "a delete's old kind is K or O");
    }
}
