package io.pgmesh.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgmesh.apply.AppliedChanges;
import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusPoller;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The metric names are a contract: the ones the issue names are all exposed, and the alert
 * rules and the Grafana dashboard in docs/monitoring use no name pgmesh does not expose. The
 * rules also pass promtool's own check and unit tests.
 */
@Timeout(120)
class MonitoringMaterialTest {
    private static final Path MATERIAL = Path.of("docs", "monitoring");
    private static final List<String> CONTRACT = List.of("pgmesh_task_up", "pgmesh_task_state",
            "pgmesh_cdc_latency_source_seconds", "pgmesh_cdc_latency_target_seconds", "pgmesh_changes_received_total",
            "pgmesh_changes_applied_total", "pgmesh_transactions_applied_total", "pgmesh_conflicts_total",
            "pgmesh_apply_errors_total", "pgmesh_replication_lag_bytes", "pgmesh_slot_retained_wal_bytes",
            "pgmesh_slot_active", "pgmesh_control_table_rows", "pgmesh_control_table_bytes");

    /** Every name the metrics of a task with data and a status reading with a slot expose. */
    static Set<String> exposedNames() throws Exception {
        TaskMetrics m = new TaskMetrics("east->west", Duration.ofSeconds(2));
        AppliedChanges changes = new AppliedChanges();
        changes.add("public.items", AppliedChanges.Op.INSERT);
        changes.conflict(new AppliedChanges.ConflictMet("public.items", "update_differs", "apply_remote"));
        changes.applyError("public.items");
        m.committed(Instant.now(), 1, changes);
        m.changes(1);
        m.sourceTime(Instant.now());
        TaskView task = new TaskView("east->west", "east", "west", "streaming", "streaming", Instant.now(), m);
        MeshStatus status = new MeshStatus(
                List.of(new MeshStatus.TaskStatus("east->west", "east", "west", "pgmesh_east_west", true, null, "0/1",
                        "0/1", 0L, null, null, null, null, null, null)),
                List.of(new MeshStatus.NodeStatus("east", true, null, 170005, List.of(new MeshStatus.SlotStatus(
                        "pgmesh_east_west", true, "0/1", 1024, null, "reserved", 1L << 30, false)), List.of(), 0L,
                        List.of(new MeshStatus.ControlTable("conflicts", 12, 65536)))),
                new MeshStatus.ClockSkew("east", "west", 3, 1));
        StatusPoller.Reading reading = new StatusPoller.Reading(status, Instant.now(), List.of());
        MeshMetrics metrics = new MeshMetrics(() -> List.of(task), () -> reading);
        metrics.attach(task);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        metrics.write(out);
        Set<String> names = new TreeSet<>();
        Matcher type = Pattern.compile("(?m)^# TYPE (\\S+) (\\S+)$").matcher(out.toString(StandardCharsets.UTF_8));
        while (type.find()) {
            names.add(type.group(1));
            if (type.group(2).equals("histogram")) {
                names.add(type.group(1) + "_bucket");
                names.add(type.group(1) + "_count");
                names.add(type.group(1) + "_sum");
            }
        }
        return names;
    }

    @Test
    void everyContractNameIsExposed() throws Exception {
        Set<String> names = exposedNames();
        for (String n : CONTRACT) {
            assertTrue(names.contains(n), n + " is missing from " + names);
        }
    }

    @Test
    void rulesAndDashboardUseOnlyExposedNames() throws Exception {
        Set<String> names = exposedNames();
        String dashboard = Files.readString(MATERIAL.resolve("grafana-dashboard.json"));
        new ObjectMapper().readTree(dashboard); // valid JSON, or this throws
        String rules = Files.readString(MATERIAL.resolve("alerts.yml"));
        Set<String> used = new TreeSet<>();
        Matcher m = Pattern.compile("\\b((?:pgmesh|jvm)_[a-z_]+)").matcher(dashboard + rules);
        while (m.find()) {
            used.add(m.group(1));
        }
        used.removeIf(n -> n.equals("pgmesh_east_west"));
        assertTrue(used.size() > 10, "the material uses the metrics: " + used);
        for (String n : used) {
            assertTrue(names.contains(n), n + " is used in docs/monitoring but not exposed");
        }
    }

    /** promtool comes with Debian's prometheus package, which .ci/run installs. */
    @Test
    void promtoolAcceptsTheRulesAndTheirTests() throws Exception {
        Path promtool = Path.of("/usr/bin/promtool");
        if (!Files.isExecutable(promtool)) {
            fail("promtool is not installed: apt-get install prometheus (as .ci/run does) to check the alert rules");
        }
        run(promtool.toString(), "check", "rules", "alerts.yml");
        run(promtool.toString(), "test", "rules", "alerts-test.yml");
    }

    private static void run(String... cmd) throws Exception {
        Path log = Files.createTempFile("promtool", ".log");
        Process p = new ProcessBuilder(cmd).directory(MATERIAL.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", cmd) + " did not end within 60 s");
        }
        String out = Files.readString(log);
        Files.delete(log);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
    }
}
