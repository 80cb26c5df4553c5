package io.pgmesh.monitor;

import java.util.List;

/** What `pgmesh status` reports: per task and per node. Fields are null when a node could not be read. */
public record MeshStatus(List<TaskStatus> tasks, List<NodeStatus> nodes) {

    public record TaskStatus(String task, String source, String target, String slot, Boolean slotActive,
                             String slotInvalidation, String sourceCurrentLsn, String slotConfirmedLsn,
                             Long lagBytes, String originProgress, String lastAppliedCommitTime,
                             Long lastAppliedLatencyMs, String error) {
    }

    public record NodeStatus(String node, boolean reachable, String error, Integer serverVersion,
                             List<SlotStatus> slots, List<WalSender> walSenders) {
    }

    public record SlotStatus(String slot, boolean active, String confirmedLsn, long retainedWalBytes,
                             String invalidation) {
    }

    public record WalSender(String applicationName, String state, String sentLsn, String flushLsn) {
    }

    public boolean allReachable() {
        return nodes.stream().allMatch(NodeStatus::reachable);
    }
}
