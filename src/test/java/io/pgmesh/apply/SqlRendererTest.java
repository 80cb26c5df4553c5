package io.pgmesh.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.TableName;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SqlRendererTest {
    private static final TableName T = new TableName("public", "My \"Table\"");

    @Test
    void insertWithKeyDoesNothingOnCollisionSoTheCountRevealsTheConflict() {
        assertEquals("INSERT INTO \"public\".\"My \"\"Table\"\"\" (\"id\", \"v\") VALUES (?, ?) ON CONFLICT (\"id\") DO NOTHING",
                SqlRenderer.insert(T, List.of("id", "v"), List.of("id")));
    }

    @Test
    void insertWithoutKeyIsPlain() {
        assertEquals("INSERT INTO \"public\".\"My \"\"Table\"\"\" (\"a\") VALUES (?)",
                SqlRenderer.insert(T, List.of("a"), List.of()));
    }

    @Test
    void updateMatchesTheKeyAndAppliesTheGuard() {
        assertEquals("UPDATE \"public\".\"My \"\"Table\"\"\" SET \"v\" = ?, \"w\" = ? WHERE \"id\" = ? AND \"k\" = ? AND g",
                SqlRenderer.update(T, List.of("v", "w"), List.of("id", "k"), "g"));
    }

    @Test
    void fullIdentityDeleteRemovesExactlyOneOfEqualRows() {
        assertEquals("DELETE FROM \"public\".\"My \"\"Table\"\"\" WHERE ctid = (SELECT ctid FROM \"public\".\"My \"\"Table\"\"\""
                        + " WHERE \"a\"::text IS NOT DISTINCT FROM ? LIMIT 1 FOR UPDATE)",
                SqlRenderer.deleteOneMatching(T, List.of("a")));
    }

    @Test
    void guardComparesTheRowsOriginWithTheTasksOrigin() {
        assertEquals("COALESCE((pg_xact_commit_timestamp_origin(xmin)).roident, 3) = 3", SqlRenderer.sameOriginGuard(3));
    }

    @Test
    void truncateKeepsTheSourcesOptions() {
        assertEquals("TRUNCATE \"s\".\"a\", \"s\".\"b\" RESTART IDENTITY CASCADE",
                SqlRenderer.truncate(List.of(new TableName("s", "a"), new TableName("s", "b")), true, true));
        assertEquals("TRUNCATE \"s\".\"a\"", SqlRenderer.truncate(List.of(new TableName("s", "a")), false, false));
    }
}
