package io.pgmesh.load;

import java.util.ArrayList;
import java.util.List;

/**
 * A slice of one table's heap, by page range, that one worker copies in one COPY. Every row a
 * snapshot sees lives on exactly one page, so the slices of a table cover it once, and PostgreSQL
 * 14+ reads a ctid range without scanning the rest of the table.
 *
 * @param table     what to copy
 * @param fromPage  first page, inclusive
 * @param toPage    last page, exclusive; -1 for "to the end" (the last slice takes whatever is there)
 */
public record CopyChunk(TableDefinition table, long fromPage, long toPage) {

    public boolean isWholeTable() {
        return fromPage == 0 && toPage < 0;
    }

    /** The WHERE clause that selects this slice, or an empty string for a whole table. */
    public String predicate() {
        if (isWholeTable()) {
            return "";
        }
        String from = " WHERE ctid >= '(" + fromPage + ",0)'::tid";
        return toPage < 0 ? from : from + " AND ctid < '(" + toPage + ",0)'::tid";
    }

    /**
     * Cuts every table into slices of about {@code sliceBytes} (by its size when the load was
     * planned; 0 keeps every table whole), biggest tables first so that the longest copies start
     * early. A whole table is cheaper to copy: no query per slice, and rows written frozen.
     */
    public static List<CopyChunk> plan(List<TableDefinition> tables, long pageSize, long sliceBytes) {
        long pagesPerChunk = sliceBytes == 0 ? Long.MAX_VALUE : Math.max(1, sliceBytes / pageSize);
        List<TableDefinition> bySize = new ArrayList<>(tables);
        bySize.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
        List<CopyChunk> chunks = new ArrayList<>();
        for (TableDefinition t : bySize) {
            long pages = (t.bytes() + pageSize - 1) / pageSize;
            long from = 0;
            while (pages - from > pagesPerChunk) {
                chunks.add(new CopyChunk(t, from, from + pagesPerChunk));
                from += pagesPerChunk;
            }
            chunks.add(new CopyChunk(t, from, -1));
        }
        return chunks;
    }
}
