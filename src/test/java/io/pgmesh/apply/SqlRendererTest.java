package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SqlRendererTest {
    private static final TableName T = new TableName("public", "My \"Table\"");

    @Test
    void insertWithKeyDoesNothingOnCollisionSoTheCountRevealsTheConflict() {
        assertEquals("INSERT INTO \"public\".\"My \"\"Table\"\"\" (\"id\", \"v\") OVERRIDING SYSTEM VALUE VALUES ($1, $2) ON CONFLICT (\"id\") DO NOTHING",
                SqlRenderer.insert(T, List.of("id", "v"), List.of("id")));
    }

    @Test
    void insertWithoutKeyIsPlain() {
        assertEquals("INSERT INTO \"public\".\"My \"\"Table\"\"\" (\"a\") OVERRIDING SYSTEM VALUE VALUES ($1)",
                SqlRenderer.insert(T, List.of("a"), List.of()));
    }

    @Test
    void updateMatchesTheKeyAndAppliesTheGuard() {
        assertEquals("UPDATE \"public\".\"My \"\"Table\"\"\" SET \"v\" = $1, \"w\" = $2 WHERE \"id\" = $3 AND \"k\" = $4 AND g",
                SqlRenderer.update(T, List.of("v", "w"), List.of("id", "k"), "g"));
    }

    @Test
    void fullIdentityDeleteRemovesExactlyOneOfEqualRows() {
        assertEquals("DELETE FROM \"public\".\"My \"\"Table\"\"\" WHERE ctid = (SELECT ctid FROM \"public\".\"My \"\"Table\"\"\""
                        + " WHERE \"a\"::text IS NOT DISTINCT FROM $1 LIMIT 1 FOR UPDATE)",
                SqlRenderer.deleteOneMatching(T, List.of("a")));
    }

    @Test
    void fullIdentityUpdateNumbersSetValuesBeforeMatchValues() {
        assertEquals("UPDATE \"s\".\"t\" SET \"v\" = $1 WHERE ctid = (SELECT ctid FROM \"s\".\"t\""
                        + " WHERE \"a\"::text IS NOT DISTINCT FROM $2 AND \"v\"::text IS NOT DISTINCT FROM $3 LIMIT 1 FOR UPDATE)",
                SqlRenderer.updateOneMatching(new TableName("s", "t"), List.of("v"), List.of("a", "v")));
    }

    @Test
    void guardPassesTheSourcesOwnVersionsTheLoadsRowsAndVersionsTheSourceHadSeen() {
        String seen = " OR EXISTS (SELECT FROM (SELECT roident, through FROM pg_temp.pgmesh_seen) s"
                + " WHERE s.roident = (pg_xact_commit_timestamp_origin(xmin)).roident"
                + " AND s.through >= (pg_xact_commit_timestamp_origin(xmin)).\"timestamp\"))";
        assertEquals("(COALESCE((pg_xact_commit_timestamp_origin(xmin)).roident, 3) = 3" + seen,
                SqlRenderer.sameOriginGuard(3, null));
        assertEquals("(COALESCE((pg_xact_commit_timestamp_origin(xmin)).roident, 3) = 3 OR ((pg_xact_commit_timestamp_origin(xmin)).roident = 0"
                + " AND (pg_xact_commit_timestamp_origin(xmin)).\"timestamp\" <= '2026-11-26 10:00:00+00'::timestamptz)" + seen,
                SqlRenderer.sameOriginGuard(3, "2026-11-26 10:00:00+00"), "rows of the initial load count as the source's");
    }

    @Test
    void rekeyMovesTheRowOnlyWhenTheNewKeyIsFreeAndNotDeletedByAnotherOrigin() {
        assertEquals("UPDATE \"s\".\"t\" SET \"id\" = $1, \"v\" = $2 WHERE \"id\" = $3 AND g"
                        + " AND NOT EXISTS (SELECT FROM \"s\".\"t\" WHERE \"id\" = $4)"
                        + " AND NOT EXISTS (SELECT FROM \"pgmesh\".\"deleted_1\" WHERE \"id\" = $4 AND NOT g)",
                SqlRenderer.rekey(new TableName("s", "t"), List.of("id", "v"), List.of("id"), "g",
                        new TableName("pgmesh", "deleted_1")));
        assertEquals("UPDATE \"s\".\"t\" SET \"id\" = $1 WHERE \"id\" = $2"
                        + " AND NOT EXISTS (SELECT FROM \"s\".\"t\" WHERE \"id\" = $3)",
                SqlRenderer.rekey(new TableName("s", "t"), List.of("id"), List.of("id"), null, null));
    }

    @Test
    void truncateKeepsRestartIdentityButNeverCascades() {
        assertEquals("TRUNCATE \"s\".\"a\", \"s\".\"b\" RESTART IDENTITY",
                SqlRenderer.truncate(List.of(new TableName("s", "a"), new TableName("s", "b")), true));
        assertEquals("TRUNCATE \"s\".\"a\"", SqlRenderer.truncate(List.of(new TableName("s", "a")), false));
    }

    @Test
    void strictInsertIntoATableWithTombstonesFailsWhenAnotherOriginDeletedTheKey() {
        assertEquals("WITH w AS (INSERT INTO \"s\".\"t\" (\"id\") OVERRIDING SYSTEM VALUE VALUES ($1)"
                        + " RETURNING \"id\") INSERT INTO pg_temp.pgmesh_sink SELECT FROM w HAVING 1 / (NOT EXISTS"
                        + " (SELECT FROM \"pgmesh\".\"deleted_1\" WHERE (\"id\") IN (SELECT \"id\" FROM w) AND NOT g))::int = 0",
                SqlRenderer.expectNotDeleted(SqlRenderer.insert(new TableName("s", "t"), List.of("id"), List.of()),
                        new TableName("pgmesh", "deleted_1"), List.of("id"), "g"));
    }

    @Test
    void tombstoneUpsertWritesANewVersionOnConflict() {
        assertEquals("INSERT INTO \"pgmesh\".\"deleted_1\" (\"a\", \"b\") VALUES ($1, $2) ON CONFLICT (\"a\", \"b\")"
                        + " DO UPDATE SET \"a\" = EXCLUDED.\"a\"",
                SqlRenderer.upsertTombstone(new TableName("pgmesh", "deleted_1"), List.of("a", "b")));
    }

    @Test
    void tombstoneCheckOfACopyRunTakesOneArrayPerKeyColumn() {
        assertEquals("INSERT INTO pg_temp.pgmesh_sink SELECT FROM \"pgmesh\".\"deleted_1\" WHERE \"a\" = ANY ($1)"
                        + " AND \"b\" = ANY ($2) AND NOT g HAVING 1 / (count(*) = 0)::int = 0",
                SqlRenderer.expectNoneDeletedAmong(new TableName("pgmesh", "deleted_1"), List.of("a", "b"), "g"));
    }

    @Test
    void aStrictStatementsDivisionByZeroIsNamedForWhatItMeans() {
        assertEquals("a change did not find its row as it expected, a key it inserts was deleted here, or it cannot"
                        + " be applied as sent",
                SqlRenderer.describeStrictFailure(new SQLException("ERROR: division by zero", "22012")));
        assertEquals("ERROR: duplicate key value violates unique constraint \"t_email_key\" [SQLSTATE 23505]",
                SqlRenderer.describeStrictFailure(new SQLException(
                        "ERROR: duplicate key value violates unique constraint \"t_email_key\"\n  Detail: Key (email)=(a) exists.",
                        "23505")), "any other error as the server gave it, first line");
    }
}
