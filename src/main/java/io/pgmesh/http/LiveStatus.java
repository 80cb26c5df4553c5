package io.pgmesh.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.pgmesh.metrics.TableStats;
import io.pgmesh.metrics.TaskMetrics;
import io.pgmesh.metrics.TaskView;
import io.pgmesh.monitor.ConflictReport;
import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusPoller;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The /api/status document: the {@code status --json} document of the last reading, plus what
 * only this process knows, live: each task's state, latency on both sides, rates, counts and
 * per-table statistics, the health verdict and the newest conflicts.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LiveStatus(String process, String generatedAt, HealthReport health, List<LiveTask> tasks,
                         String statusReadAt, MeshStatus status, List<ConflictReport.Event> recentConflicts) {

    /** One task as this process runs it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record LiveTask(String task, String source, String target, String state, String detail, String since,
                           Double latencySourceSeconds, Double latencyTargetSeconds, long changesReceived,
                           long transactionsApplied, long rowsApplied, double rowsPerSecond, long conflicts,
                           long applyErrors, String lastError, List<TableStats> tables) {
    }

    static LiveStatus of(String process, List<TaskView> tasks, HealthReport health, StatusPoller.Reading reading) {
        List<LiveTask> live = new ArrayList<>();
        for (TaskView t : tasks) {
            TaskMetrics m = t.metrics();
            live.add(new LiveTask(t.name(), t.source(), t.target(), t.state(), t.detail(), t.since().toString(),
                    finite(m.latency().sourceSeconds()), finite(m.latency().targetSeconds()), m.receivedChanges(),
                    m.appliedTransactions(), m.appliedRows(), m.rowsPerSecond(), m.conflicts(), m.applyErrorCount(),
                    m.lastError(), TableStats.of(m)));
        }
        return new LiveStatus(process, Instant.now().toString(), health, live,
                reading == null ? null : reading.at().toString(), reading == null ? null : reading.status(),
                reading == null ? List.of() : reading.recentConflicts());
    }

    private static Double finite(double v) {
        return Double.isNaN(v) ? null : Math.round(v * 1000) / 1000.0;
    }
}
