package io.pgmesh.load;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.util.List;
import org.junit.jupiter.api.Test;

class CopyChunkTest {

    private static TableDefinition table(String name, long bytes) {
        return new TableDefinition(new TableName("public", name), List.of(), List.of(), List.of(), List.of(), List.of(),
                'd', null, 0, bytes, null);
    }

    @Test
    void bigTablesAreCutIntoPageRangesThatCoverThemOnceAndTheLastRangeIsOpen() {
        List<CopyChunk> chunks = CopyChunk.plan(List.of(table("small", 8192), table("big", 10 * 8192 + 1)), 8192, 4 * 8192);
        assertEquals(List.of(" WHERE ctid >= '(0,0)'::tid AND ctid < '(4,0)'::tid",
                        " WHERE ctid >= '(4,0)'::tid AND ctid < '(8,0)'::tid",
                        " WHERE ctid >= '(8,0)'::tid", ""),
                chunks.stream().map(CopyChunk::predicate).toList(),
                "the biggest table first, in ranges of 4 pages, the last one open so rows on new pages are not missed");
        assertEquals("big", chunks.get(0).table().name().name());
        assertEquals("small", chunks.get(3).table().name().name());
    }

    @Test
    void anEmptyTableIsOneWholeTableChunk() {
        assertEquals(List.of(""), CopyChunk.plan(List.of(table("empty", 0)), 8192, 4 * 8192).stream()
                .map(CopyChunk::predicate).toList());
    }

    @Test
    void sliceSizeZeroKeepsEveryTableWhole() {
        List<CopyChunk> chunks = CopyChunk.plan(List.of(table("small", 8192), table("big", 1L << 40)), 8192, 0);
        assertEquals(List.of("big", "small"), chunks.stream().map(c -> c.table().name().name()).toList());
        assertEquals(List.of(true, true), chunks.stream().map(CopyChunk::isWholeTable).toList());
    }
}
