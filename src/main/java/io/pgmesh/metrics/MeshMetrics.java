package io.pgmesh.metrics;

import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusPoller;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * The Prometheus metrics of a run process. The apply path only bumps counters it owns
 * ({@link TaskMetrics}); everything here is read at scrape time through callbacks, from those
 * counters and from the last status reading, so a scrape never touches a database and costs the
 * tasks nothing. Task labels read {@code source->target}.
 */
public final class MeshMetrics {
    private static final List<String> STATES = List.of("connecting", "streaming", "retrying", "waiting", "failed",
            "stopped", "standby");

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Supplier<List<TaskView>> tasks;
    private final Supplier<StatusPoller.Reading> status;
    private final Histogram latency;

    /** {@code status}: the last status reading (null before the first), as {@link StatusPoller#latest()} gives it. */
    public MeshMetrics(Supplier<List<TaskView>> tasks, Supplier<StatusPoller.Reading> status) {
        this.tasks = tasks;
        this.status = status;
        JvmMetrics.builder().register(registry);
        latency = Histogram.builder().name("pgmesh_transaction_latency_seconds")
                .help("Source commit to target commit of each applied transaction")
                .labelNames("task").classicOnly()
                .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
                .register(registry);
        registerTasks();
        registerCounters();
        registerSlots();
    }

    /** The tombstone pruning of the process's retention: what it removed and who holds it back. */
    public void watch(io.pgmesh.monitor.Retention retention) {
        CounterWithCallback.builder().name("pgmesh_tombstones_removed_total")
                .help("Tombstones this process removed because no change can need them any more").labelNames("node")
                .callback(cb -> retention.tombstonesRemoved().forEach((node, n) -> cb.call(n, node)))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_retention_round_seconds")
                .help("How long the last retention round on the node took (conflicts, apply errors, tombstones)")
                .labelNames("node")
                .callback(cb -> retention.roundSeconds().forEach((node, s) -> cb.call(s, node)))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_tombstones_held")
                .help("Tombstones older than five retention rounds (5 min) kept on node because node \"by\" has not"
                        + " confirmed it saw their deletes (down or behind)").labelNames("node", "by")
                .callback(cb -> retention.tombstonesHeld().forEach((node, held) -> held.forEach((by, n) ->
                        cb.call(n, node, by))))
                .register(registry);
    }

    /** Hooks a task's histogram up; called for each task when its runner starts. */
    public void attach(TaskView task) {
        var point = latency.labelValues(task.name());
        task.metrics().observeLatencyWith(point::observe);
    }

    private void registerTasks() {
        GaugeWithCallback.builder().name("pgmesh_task_up").help("1 while the task streams, else 0")
                .labelNames("task")
                .callback(cb -> tasks.get().forEach(t -> cb.call(t.streaming() ? 1 : 0, t.name())))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_task_state").help("1 for the state the task is in, 0 for the others")
                .labelNames("task", "state")
                .callback(cb -> tasks.get().forEach(t -> STATES.forEach(s -> cb.call(s.equals(t.state()) ? 1 : 0,
                        t.name(), s))))
                .register(registry);
        latency("pgmesh_cdc_latency_source_seconds",
                "Source commit to received; grows while nothing arrives (heartbeats every few seconds)",
                LatencyClock::sourceSeconds);
        latency("pgmesh_cdc_latency_target_seconds",
                "Source commit to committed on the target; grows while nothing is applied", LatencyClock::targetSeconds);
    }

    /** A latency gauge per task; absent until the task has measured one. */
    private void latency(String name, String help, java.util.function.ToDoubleFunction<LatencyClock> side) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("task")
                .callback(cb -> tasks.get().forEach(t -> {
                    double v = side.applyAsDouble(t.metrics().latency());
                    if (!Double.isNaN(v)) {
                        cb.call(v, t.name());
                    }
                }))
                .register(registry);
    }

    private void registerCounters() {
        CounterWithCallback.builder().name("pgmesh_changes_received_total")
                .help("Row changes received from the source (echoes excluded; a change sent again after a retry counts"
                        + " again)").labelNames("task")
                .callback(cb -> tasks.get().forEach(t -> cb.call(t.metrics().receivedChanges(), t.name())))
                .register(registry);
        CounterWithCallback.builder().name("pgmesh_transactions_applied_total")
                .help("Source transactions committed on the target").labelNames("task")
                .callback(cb -> tasks.get().forEach(t -> cb.call(t.metrics().appliedTransactions(), t.name())))
                .register(registry);
        registry.register(new AppliedChangesCollector(tasks));
        CounterWithCallback.builder().name("pgmesh_conflicts_total")
                .help("Conflicts of committed transactions, as logged in pgmesh.conflicts")
                .labelNames("task", "table", "type", "resolution")
                .callback(cb -> tasks.get().forEach(t -> t.metrics().conflictCounts().forEach((k, v) ->
                        cb.call(v, t.name(), k.table(), k.type(), k.resolution()))))
                .register(registry);
        CounterWithCallback.builder().name("pgmesh_apply_errors_total")
                .help("Changes of committed transactions that could not be applied, as logged in pgmesh.apply_errors")
                .labelNames("task", "table")
                .callback(cb -> tasks.get().forEach(t -> t.metrics().applyErrors().forEach((table, v) ->
                        cb.call(v, t.name(), table))))
                .register(registry);
    }

    private void registerSlots() {
        GaugeWithCallback.builder().name("pgmesh_replication_lag_bytes")
                .help("Source WAL written past what the task's slot has confirmed").labelNames("task")
                .callback(cb -> reading(s -> s.tasks().forEach(t -> {
                    if (t.lagBytes() != null) {
                        cb.call(t.lagBytes(), t.task());
                    }
                })))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_slot_retained_wal_bytes")
                .help("WAL the slot keeps on its node").labelNames("node", "slot")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.slots().forEach(sl ->
                        cb.call(sl.retainedWalBytes(), n.node(), sl.slot())))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_slot_active")
                .help("1 while a walsender streams from the slot").labelNames("node", "slot")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.slots().forEach(sl ->
                        cb.call(sl.active() ? 1 : 0, n.node(), sl.slot())))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_slot_safe_wal_bytes")
                .help("WAL that can still be written before the slot may lose what it needs (absent while"
                        + " max_slot_wal_keep_size is unbounded)").labelNames("node", "slot")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.slots().forEach(sl -> {
                    if (sl.safeWalSize() != null) {
                        cb.call(sl.safeWalSize(), n.node(), sl.slot());
                    }
                }))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_slot_wal_warning")
                .help("1 when the slot holds more WAL than slot-safety.warn-retained-wal, or was invalidated")
                .labelNames("node", "slot")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.slots().forEach(sl ->
                        cb.call(sl.overBudget() || sl.invalidation() != null ? 1 : 0, n.node(), sl.slot())))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_control_table_rows")
                .help("Rows pgmesh keeps on the node that grow with use: table is conflicts, apply_errors or"
                        + " tombstones (all pgmesh.deleted_* tables); counted up to 8 MB, estimated above")
                .labelNames("node", "table")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.controlTables().forEach(t ->
                        cb.call(t.rows(), n.node(), t.table())))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_control_table_bytes")
                .help("Bytes of those tables, with indexes and TOAST").labelNames("node", "table")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> n.controlTables().forEach(t ->
                        cb.call(t.bytes(), n.node(), t.table())))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_node_up").help("1 when the node answered the last status reading")
                .labelNames("node")
                .callback(cb -> reading(s -> s.nodes().forEach(n -> cb.call(n.reachable() ? 1 : 0, n.node()))))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_clock_skew_seconds")
                .help("Widest difference between two nodes' clocks (concurrent conflicts are decided by time)")
                .callback(cb -> reading(s -> {
                    if (s.clockSkew() != null) {
                        cb.call(s.clockSkew().skewMs() / 1000.0);
                    }
                }))
                .register(registry);
        GaugeWithCallback.builder().name("pgmesh_status_age_seconds")
                .help("Age of the status reading the node and slot figures come from")
                .callback(cb -> {
                    StatusPoller.Reading r = status.get();
                    if (r != null) {
                        cb.call(Duration.between(r.at(), Instant.now()).toMillis() / 1000.0);
                    }
                })
                .register(registry);
    }

    /**
     * pgmesh_changes_applied_total, the one family that grows with tables x tasks (12,000 series
     * on 20 tasks and 200 tables). Its snapshot must list its series sorted by label values, and
     * the library sorts what it is given: with the series in that order already, the sort is one
     * pass instead of about 14 label comparisons per series. So the series (each with labels built
     * once) are kept sorted, and sorted again only when a series was added or a task went away.
     */
    private static final class AppliedChangesCollector implements Collector {
        private record Series(io.prometheus.metrics.model.snapshots.Labels labels,
                              java.util.concurrent.atomic.LongAdder count) {
        }

        private final Supplier<List<TaskView>> tasks;
        private List<Series> sorted = List.of();
        /** What {@link #sorted} was built from: the tasks' counters, and how many keys each had. */
        private List<TaskMetrics> builtFrom = List.of();
        private List<Integer> builtSizes = List.of();

        AppliedChangesCollector(Supplier<List<TaskView>> tasks) {
            this.tasks = tasks;
        }

        @Override
        public synchronized MetricSnapshot collect() {
            List<TaskView> now = tasks.get();
            List<TaskMetrics> from = now.stream().map(TaskView::metrics).toList();
            List<Integer> sizes = from.stream().map(m -> m.tableOps().size()).toList();
            boolean same = from.size() == builtFrom.size() && sizes.equals(builtSizes);
            for (int i = 0; same && i < from.size(); i++) {
                same = from.get(i) == builtFrom.get(i);
            }
            if (!same) {
                List<Series> series = new java.util.ArrayList<>();
                for (TaskView t : now) {
                    t.metrics().tableOps().forEachCounter((k, count) -> series.add(new Series(t.metrics().labels(k), count)));
                }
                series.sort((a, b) -> a.labels().compareTo(b.labels()));
                sorted = series;
                builtFrom = from;
                builtSizes = sizes;
            }
            CounterSnapshot.Builder b = CounterSnapshot.builder().name("pgmesh_changes_applied")
                    .help("Row changes of source transactions committed on the target, per table and operation (a"
                            + " change a conflict settled in favour of the local row counts too)");
            for (Series s : sorted) {
                b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(s.count().sum())
                        .labels(s.labels()).build());
            }
            return b.build();
        }
    }

    private void reading(java.util.function.Consumer<MeshStatus> use) {
        StatusPoller.Reading r = status.get();
        if (r != null) {
            use.accept(r.status());
        }
    }

    /** Writes every metric in Prometheus's text format. */
    public void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape(),
                io.prometheus.metrics.config.EscapingScheme.UNDERSCORE_ESCAPING);
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
