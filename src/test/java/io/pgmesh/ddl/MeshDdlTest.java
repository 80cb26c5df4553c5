package io.pgmesh.ddl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class MeshDdlTest {

    @Test
    void whatCannotRunAsOneTransactionPerNodeIsRefusedBeforeAnythingIsTouched() {
        assertTrue(MeshDdl.refusal("CREATE INDEX CONCURRENTLY i ON t (a)").isPresent());
        assertTrue(MeshDdl.refusal("BEGIN; ALTER TABLE t ADD c int; COMMIT").isPresent());
        assertTrue(MeshDdl.refusal("ALTER TABLE t ADD c int;\ncommit;").isPresent());
        assertTrue(MeshDdl.refusal("savepoint a; ALTER TABLE t ADD c int").isPresent());
    }

    @Test
    void theWordsInsideABodyOrAStringAreNotStatements() {
        assertTrue(MeshDdl.refusal("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;"
                + " ALTER TABLE t ADD c int").isEmpty());
        assertTrue(MeshDdl.refusal("COMMENT ON TABLE t IS 'x; COMMIT'").isEmpty());
        assertTrue(MeshDdl.refusal("ALTER TABLE t RENAME COLUMN a TO b; -- then commit\nALTER TABLE t ADD c int").isEmpty());
    }
}
