package io.pgmesh.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgmesh.pg.Lsn;
import io.pgmesh.wal.TupleData;
import io.pgmesh.wal.WalMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class TransactionFilterTest {
    private static final Instant NOW = Instant.parse("2026-11-26T00:00:00Z");
    private final TransactionFilter filter = new TransactionFilter();

    private static WalMessage.Begin begin() {
        return new WalMessage.Begin(Lsn.of(100), NOW, 7);
    }

    private static WalMessage.Commit commit() {
        return new WalMessage.Commit(0, Lsn.of(100), Lsn.of(120), NOW);
    }

    private static WalMessage.Relation relation() {
        return new WalMessage.Relation(1, "public", "t", 'd', List.of(new WalMessage.Relation.Column(1, "id", 23, -1)));
    }

    private static WalMessage.Insert insert() {
        return new WalMessage.Insert(1, TupleData.ofText("1"));
    }

    private List<WalMessage> feed(WalMessage... messages) {
        List<WalMessage> out = new ArrayList<>();
        for (WalMessage m : messages) {
            out.addAll(filter.accept(m));
        }
        return out;
    }

    @Test
    void localTransactionsPassWhole() {
        WalMessage b = begin(), r = relation(), i = insert(), c = commit();
        assertEquals(List.of(b, r, i, c), feed(b, r, i, c));
    }

    @Test
    void transactionsAppliedByPgmeshAreDroppedButTheirRelationsPass() {
        WalMessage r = relation();
        List<WalMessage> out = feed(begin(), new WalMessage.Origin(Lsn.of(90), "pgmesh_west"), r, insert(), commit());
        assertEquals(List.of(r), out, "an echo must not travel, but the relation description is sent only once");
        assertEquals(1, filter.droppedLoopback());
    }

    @Test
    void transactionsOfForeignOriginsPass() {
        WalMessage b = begin(), i = insert(), c = commit();
        assertEquals(List.of(b, i, c), feed(b, new WalMessage.Origin(Lsn.of(90), "other_tool"), i, c));
    }

    @Test
    void emptyTransactionsAreDropped() {
        assertEquals(List.of(), feed(begin(), commit()));
    }

    @Test
    void aDroppedTransactionDoesNotAffectTheNextOne() {
        feed(begin(), new WalMessage.Origin(Lsn.of(90), "pgmesh_west"), insert(), commit());
        WalMessage b = begin(), i = insert(), c = commit();
        assertEquals(List.of(b, i, c), feed(b, i, c));
    }
}
