package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.TableName;
import io.pgmesh.validate.TableColumns.Column;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TableShapeTest {
    private static final TableName T = new TableName("public", "accounts");

    private static Column col(String name) {
        return new Column(name, "integer", false);
    }

    private static TableShape shape(TableColumns east, TableColumns west) {
        Map<String, TableColumns> m = new LinkedHashMap<>();
        m.put("east", east);
        m.put("west", west);
        return TableShape.of(T, m);
    }

    @Test
    void columnsAreMatchedByNameWhateverTheirOrder() {
        TableShape s = shape(new TableColumns(List.of(col("id"), col("b"), col("a")), List.of("id")),
                new TableColumns(List.of(col("a"), col("id"), col("b")), List.of("id")));
        assertEquals(List.of("a", "b", "id"), s.columns(), "compared in name order on every node");
        assertEquals(List.of("id"), s.key());
        assertEquals(List.of(), s.notes());
    }

    @Test
    void anExtraColumnOrAGeneratedOneIsANoteNotADifference() {
        TableShape s = shape(
                new TableColumns(List.of(col("id"), col("v"), new Column("g", "integer", true)), List.of("id")),
                new TableColumns(List.of(col("id"), col("v"), col("extra"), col("g")), List.of("id")));
        assertEquals(List.of("id", "v"), s.columns());
        assertEquals(List.of("column \"extra\" only on west, not compared",
                "column \"g\" generated on east (not replicated), not compared"), s.notes());
    }

    @Test
    void aColumnGeneratedOnEveryNodeIsLeftOutSilently() {
        Column g = new Column("g", "integer", true);
        TableShape s = shape(new TableColumns(List.of(col("id"), g), List.of("id")),
                new TableColumns(List.of(col("id"), g), List.of("id")));
        assertEquals(List.of("id"), s.columns());
        assertEquals(List.of(), s.notes());
    }

    @Test
    void withoutAKeyTheTableIsAMultiset() {
        TableShape s = shape(new TableColumns(List.of(col("a")), List.of()), new TableColumns(List.of(col("a")), List.of()));
        assertTrue(!s.keyed(), "no key on any node: compare whole rows");
        assertEquals(List.of("no key: rows compared as a multiset of whole rows"), s.notes());
    }

    @Test
    void keysThatDifferBetweenNodesFallBackToAMultiset() {
        TableShape s = shape(new TableColumns(List.of(col("a"), col("b")), List.of("a")),
                new TableColumns(List.of(col("a"), col("b")), List.of("b", "a")));
        assertTrue(!s.keyed(), "rows cannot be matched by a key the nodes do not share");
        assertEquals(List.of("key differs (east: a; west: a, b): rows compared as a multiset of whole rows"), s.notes());
    }

    @Test
    void compositeKeysAreSortedByName() {
        TableShape s = shape(new TableColumns(List.of(col("z"), col("a")), List.of("z", "a")),
                new TableColumns(List.of(col("a"), col("z")), List.of("a", "z")));
        assertEquals(List.of("a", "z"), s.key(), "both nodes' key text must list columns alike");
    }

    @Test
    void everySchemaDifferenceIsNamed() {
        TableShape s = shape(new TableColumns(List.of(col("id"), new Column("v", "text", false)), List.of("id"),
                        List.of("CREATE INDEX ON public.accounts USING btree (v)", "CREATE UNIQUE INDEX ON public.accounts USING btree (id)")),
                new TableColumns(List.of(col("id"), new Column("v", "character varying(20)", false)), List.of("id"),
                        List.of("CREATE UNIQUE INDEX ON public.accounts USING btree (id)")));
        assertEquals(List.of("column \"v\" has other types: text on east, character varying(20) on west",
                "CREATE INDEX ON public.accounts USING btree (v) is missing on west"), s.notes());
    }
}
