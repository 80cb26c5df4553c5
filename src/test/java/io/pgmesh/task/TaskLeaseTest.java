package io.pgmesh.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Who may apply a task, as the lease row stands: the rules without a database. */
class TaskLeaseTest {
    private final LeaseHolder standbyForAll = new LeaseHolder(UUID.randomUUID(), "hq:100", "abc", false);
    private final LeaseHolder local = new LeaseHolder(UUID.randomUUID(), "west:200", "abc", true);
    private final LeaseHolder other = new LeaseHolder(UUID.randomUUID(), "hq:300", "abc", false);

    private static TaskLease.Row heldBy(LeaseHolder h, boolean free) {
        return new TaskLease.Row(h.id(), h.process(), h.fingerprint(), h.preferred(), 42, free, null, null, false);
    }

    private static TaskLease.Row claimed(TaskLease.Row row, LeaseHolder by, boolean fresh) {
        return new TaskLease.Row(row.holder(), row.process(), row.fingerprint(), row.preferred(), row.backendPid(),
                row.free(), by.id(), by.process(), fresh);
    }

    @Test
    void theFirstProcessTakesAFreshTask() {
        assertEquals(new TaskLease.Take(null), TaskLease.decide(null, standbyForAll));
    }

    @Test
    void aLiveHolderKeepsTheTaskAndTheOtherStandsBy() {
        TaskLease.Decision d = TaskLease.decide(heldBy(other, false), standbyForAll);
        assertTrue(((TaskLease.Wait) d).why().contains("held by hq:300"), d.toString());
    }

    @Test
    void aLeaseThatRanOutOrWhoseSessionIsGoneIsTakenOver() {
        assertEquals(new TaskLease.Take("hq:300"), TaskLease.decide(heldBy(other, true), standbyForAll));
    }

    @Test
    void itsOwnLeaseIsTakenBackAtOnce() {
        assertEquals(new TaskLease.Take(null), TaskLease.decide(heldBy(standbyForAll, false), standbyForAll));
    }

    @Test
    void aProcessWithTargetsAsksTheStandbyForAllToHandOver() {
        assertInstanceOf(TaskLease.Claim.class, TaskLease.decide(heldBy(standbyForAll, false), local));
    }

    @Test
    void aPreferredHolderIsNotAskedByAnotherPreferredProcess() {
        LeaseHolder secondLocal = new LeaseHolder(UUID.randomUUID(), "west:201", "abc", true);
        assertInstanceOf(TaskLease.Wait.class, TaskLease.decide(heldBy(local, false), secondLocal));
    }

    @Test
    void theStandbyForAllHandsOverWhenAskedAndDoesNotTakeItBack() {
        TaskLease.Row asked = claimed(heldBy(standbyForAll, false), local, true);
        assertInstanceOf(TaskLease.HandOver.class, TaskLease.decide(asked, standbyForAll));
        TaskLease.Row released = claimed(heldBy(standbyForAll, true), local, true);
        assertFalse(TaskLease.decide(released, standbyForAll) instanceof TaskLease.Take);
        assertInstanceOf(TaskLease.Wait.class, TaskLease.decide(released, other));
        assertEquals(new TaskLease.Take("hq:100"), TaskLease.decide(released, local));
    }

    @Test
    void aClaimOfAProcessThatWentAwayLapses() {
        TaskLease.Row stale = claimed(heldBy(standbyForAll, true), local, false);
        assertEquals(new TaskLease.Take(null), TaskLease.decide(stale, standbyForAll));
    }

    @Test
    void aHolderWithAnotherMeshFileIsNamed() {
        LeaseHolder foreign = new LeaseHolder(UUID.randomUUID(), "hq:400", "fff", false);
        TaskLease.Decision d = TaskLease.decide(heldBy(foreign, false), standbyForAll);
        assertTrue(((TaskLease.Wait) d).foreign(), "another mesh file is a fault, not a standby");
        String why = ((TaskLease.Wait) d).why();
        assertTrue(why.contains("different mesh file") && why.contains("fff") && why.contains("abc"), why);
    }

    @Test
    void nothingIsTakenFromALiveHolder() {
        for (LeaseHolder me : new LeaseHolder[] {standbyForAll, local}) {
            TaskLease.Decision d = TaskLease.decide(heldBy(other.preferred() ? other : local, false), me);
            if (d instanceof TaskLease.Take t) {
                assertNull(t.from(), "only its own lease may be taken while live");
            }
        }
    }
}
