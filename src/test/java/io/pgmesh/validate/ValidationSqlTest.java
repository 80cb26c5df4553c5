package io.pgmesh.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValidationSqlTest {
    private static final TableShape KEYED = new TableShape(new TableName("public", "Acc\"ts"),
            List.of("id", "v"), List.of("id"), List.of());
    private static final TableShape MULTISET = new TableShape(new TableName("s", "r"), List.of("a", "b"), List.of(), List.of());

    @Test
    void bucketSummariesOfAKeyedTableHashKeyAndRow() {
        assertEquals("SELECT substr(kh, 1, 2) AS bucket, count(*), sum(('x' || substr(rh, 1, 16))::bit(64)::bigint),"
                + " sum(('x' || substr(rh, 17, 16))::bit(64)::bigint) FROM (SELECT md5(ROW(t.\"id\")::text) AS kh,"
                + " md5(ROW(t.\"id\", t.\"v\")::text) AS rh FROM \"public\".\"Acc\"\"ts\" t) s GROUP BY 1",
                ValidationSql.bucketSummaries(KEYED, 2));
    }

    @Test
    void bucketSummariesOfAMultisetUseTheRowHashAsKey() {
        assertEquals("SELECT substr(kh, 1, 3) AS bucket, count(*), sum(('x' || substr(rh, 1, 16))::bit(64)::bigint),"
                + " sum(('x' || substr(rh, 17, 16))::bit(64)::bigint) FROM (SELECT kh, kh AS rh FROM"
                + " (SELECT md5(ROW(t.\"a\", t.\"b\")::text) AS kh FROM \"s\".\"r\" t) s0) s GROUP BY 1",
                ValidationSql.bucketSummaries(MULTISET, 3));
    }

    @Test
    void bucketRowsAreOrderedByteWise() {
        assertEquals("SELECT md5(kt) AS kh, kt, k0, rh FROM (SELECT ROW(t.\"id\")::text AS kt, t.\"id\"::text AS k0,"
                + " md5(ROW(t.\"id\", t.\"v\")::text) AS rh FROM \"public\".\"Acc\"\"ts\" t) s"
                + " WHERE substr(md5(kt), 1, 2) IN (SELECT unnest(?::text[])) ORDER BY md5(kt) COLLATE \"C\", kt COLLATE \"C\"",
                ValidationSql.bucketRows(KEYED, 2));
        assertEquals("SELECT kh, count(*) FROM (SELECT md5(ROW(t.\"a\", t.\"b\")::text) AS kh FROM \"s\".\"r\" t) s"
                + " WHERE substr(kh, 1, 2) IN (SELECT unnest(?::text[])) GROUP BY kh ORDER BY kh COLLATE \"C\"",
                ValidationSql.bucketRows(MULTISET, 2));
    }

    @Test
    void recheckFindsKeysByValueInTheNodesOwnType() {
        TableShape composite = new TableShape(new TableName("public", "t"), List.of("a", "b", "v"), List.of("a", "b"), List.of());
        assertEquals("SELECT k.ord, CASE WHEN t.\"a\" IS NULL THEN NULL ELSE md5(ROW(t.\"a\", t.\"b\", t.\"v\")::text) END"
                + " FROM unnest(?::text[], ?::text[])"
                + " WITH ORDINALITY AS k(v0, v1, ord) LEFT JOIN \"public\".\"t\" t"
                + " ON t.\"a\" = k.v0::bigint AND t.\"b\" = k.v1::text",
                ValidationSql.recheckKeyed(composite, List.of("bigint", "text")));
        assertEquals("SELECT md5(r), count(*), left(min(r), 200) FROM (SELECT ROW(t.\"a\", t.\"b\")::text AS r"
                + " FROM \"s\".\"r\" t) s WHERE md5(r) IN (SELECT unnest(?::text[])) GROUP BY 1", ValidationSql.recheckMultiset(MULTISET));
    }
}
