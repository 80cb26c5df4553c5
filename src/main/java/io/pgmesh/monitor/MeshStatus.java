package io.pgmesh.monitor;

import java.util.List;

/**
 * What `pgmesh status` reports: per task and per node, and the widest difference between two
 * nodes' clocks. Fields are null when a node could not be read.
 */
public record MeshStatus(List<TaskStatus> tasks, List<NodeStatus> nodes, ClockSkew clockSkew) {

    /** Two nodes whose clocks differ most: {@code ahead}'s runs {@code skewMs} ahead, give or take {@code uncertaintyMs}. */
    public record ClockSkew(String ahead, String behind, long skewMs, long uncertaintyMs) {
    }

    public record TaskStatus(String task, String source, String target, String slot, Boolean slotActive,
                             String slotInvalidation, String sourceCurrentLsn, String slotConfirmedLsn,
                             Long lagBytes, String originProgress, String lastAppliedCommitTime,
                             Long lastAppliedLatencyMs, RunState run, String error, Lease lease) {

        /** True when the last report of a run process says the task failed for good (until a run starts it anew). */
        public boolean failed() {
            return run != null && "failed".equals(run.state());
        }
    }

    /**
     * Which {@code run} process holds a task: host and pid, whether it runs with {@code --targets}
     * (preferred), and the seconds left on its lease by the target's clock (negative: ran out).
     */
    public record Lease(String process, boolean preferred, long secondsLeft) {

        public boolean live() {
            return secondsLeft >= 0;
        }
    }

    /**
     * What the {@code run} process applying a task last reported: its state (connecting,
     * streaming, retrying, failed, stopped), why, since when, which process (host:pid), and
     * whether that process is still connected to the target ({@code connected}); a state that
     * its process can no longer update is {@code stale}. {@code tableStats}: the changes the
     * process applied per table (JSON, a list of inserts, updates, deletes and truncates), taken
     * every few seconds.
     */
    public record RunState(String state, String detail, String since, String process, boolean connected,
                           @com.fasterxml.jackson.annotation.JsonRawValue String tableStats) {

        public boolean stale() {
            return !connected;
        }
    }

    /**
     * @param clockOffsetMs the node's clock minus the clock of the machine that ran status; only
     *                      differences between nodes mean something ({@link #clockSkew})
     */
    public record NodeStatus(String node, boolean reachable, String error, Integer serverVersion,
                             List<SlotStatus> slots, List<WalSender> walSenders, Long clockOffsetMs,
                             List<ControlTable> controlTables) {
    }

    /**
     * What pgmesh keeps on a node that grows with use.
     *
     * @param table conflicts, apply_errors, or tombstones (every {@code pgmesh.deleted_*} table)
     * @param rows  counted in a table of up to 8 MB, the planner's estimate in a bigger one
     * @param bytes with indexes and TOAST
     */
    public record ControlTable(String table, long rows, long bytes) {
    }

    /**
     * @param walStatus    reserved, extended, unreserved or lost (the server's wal_status)
     * @param safeWalSize  bytes that can still be written before the slot is in danger of losing
     *                     WAL; null while max_slot_wal_keep_size is unbounded
     * @param overBudget   it holds more WAL than slot-safety.warn-retained-wal
     */
    public record SlotStatus(String slot, boolean active, String confirmedLsn, long retainedWalBytes,
                             String invalidation, String walStatus, Long safeWalSize, boolean overBudget) {
    }

    public record WalSender(String applicationName, String state, String sentLsn, String flushLsn) {
    }

    public boolean allReachable() {
        return nodes.stream().allMatch(NodeStatus::reachable);
    }

    /** Every node answered and no task failed: the exit code of status is 0. */
    public boolean healthy() {
        return allReachable() && tasks.stream().noneMatch(TaskStatus::failed);
    }
}
