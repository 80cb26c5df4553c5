package io.pgmesh.ddl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class DdlMessageTest {

    private static LogicalMessage message(boolean transactional, String prefix, String json) {
        return new LogicalMessage(transactional, Lsn.of(1), prefix, json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsWhatTheEventTriggerSends() {
        DdlMessage d = DdlMessage.parse(message(true, DdlMessage.PREFIX, "{\"tag\" : \"ALTER TABLE\", \"object\" :"
                + " \"public.orders\", \"statement\" : \"alter table orders\\n  add column qty int -- why\","
                + " \"search_path\" : \"app, public\", \"role\" : \"alice\", \"skip\" : null}")).orElseThrow();
        assertEquals("ALTER TABLE", d.tag());
        assertEquals("app, public", d.searchPath());
        assertEquals("alice", d.role());
        assertEquals(null, d.skip());
        assertEquals("ALTER TABLE public.orders: \"alter table orders add column qty int -- why\"", d.describe(),
                "one line, whatever the statement's line breaks");
    }

    @Test
    void otherMessagesAreNotSchemaChanges() {
        assertTrue(DdlMessage.parse(message(false, DdlMessage.PREFIX, "{}")).isEmpty(), "not transactional");
        assertTrue(DdlMessage.parse(message(true, "pgmesh", "applied east 2026-01-01T00:00:00Z")).isEmpty(), "a beacon");
    }

    @Test
    void concurrentlyRunsOutsideATransaction() {
        assertTrue(DdlMessage.isOutsideTransaction("CREATE INDEX CONCURRENTLY i ON t (a)"));
        assertTrue(DdlMessage.isOutsideTransaction("-- add it\n/* quietly */ create unique index\nconcurrently i ON t (a)"));
        assertTrue(DdlMessage.isOutsideTransaction("DROP INDEX CONCURRENTLY i"));
        assertTrue(DdlMessage.isOutsideTransaction("REINDEX INDEX CONCURRENTLY i"));
        assertFalse(DdlMessage.isOutsideTransaction("CREATE INDEX i ON t (concurrently)"));
        assertFalse(DdlMessage.isOutsideTransaction("COMMENT ON TABLE t IS 'CREATE INDEX CONCURRENTLY'"));
    }
}
