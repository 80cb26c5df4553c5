package io.pgmesh.monitor;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.pg.Errors;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sizes;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the mesh's status ({@link StatusReader}) in the background at a fixed interval, so that
 * /metrics and /api/status answer at once from the last reading whatever the nodes do: a frozen
 * node makes a reading take its bound, never a scrape. It also raises the slot-safety warning in
 * the log, once per slot each time it goes over the budget.
 */
public final class StatusPoller implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.run");

    /** A reading and when it was taken, with the newest conflicts and apply errors of the last hour (keys, no rows). */
    public record Reading(MeshStatus status, Instant at, List<ConflictReport.Event> recentConflicts) {
    }

    /** How many conflicts (and as many apply errors) of each node a reading keeps. */
    static final int RECENT = 50;
    private static final Duration CONFLICT_BOUND = Duration.ofSeconds(5);

    private final Duration interval;
    private final boolean readConflicts;
    private final ScheduledExecutorService pool = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread th = new Thread(r, "pgmesh status poller");
        th.setDaemon(true);
        return th;
    });
    private final Set<String> overBudget = new HashSet<>();
    private volatile MeshConfig config;
    private volatile Reading latest;

    /** {@code readConflicts}: also the newest conflicts of each node, for the dashboard. */
    public StatusPoller(MeshConfig config, Duration interval, boolean readConflicts) {
        this.config = config;
        this.interval = interval;
        this.readConflicts = readConflicts;
    }

    public void start() {
        pool.scheduleWithFixedDelay(this::poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** After a reload: the next reading covers the nodes of {@code next}. */
    public void config(MeshConfig next) {
        config = next;
    }

    /** The last reading, or null before the first one ends. */
    public Reading latest() {
        return latest;
    }

    private void poll() {
        try {
            MeshConfig c = config;
            MeshStatus s = StatusReader.read(c);
            latest = new Reading(s, Instant.now(), readConflicts ? recentConflicts(c, s) : List.of());
            warn(s);
        } catch (RuntimeException e) {
            log.debug("status reading failed", e);
        }
    }

    /** From the nodes that answered the status reading, each within a bound. */
    private static List<ConflictReport.Event> recentConflicts(MeshConfig c, MeshStatus s) {
        List<ConflictReport.Event> events = new ArrayList<>();
        Instant since = Instant.now().minus(Duration.ofHours(1));
        for (MeshStatus.NodeStatus n : s.nodes()) {
            if (!n.reachable()) {
                continue;
            }
            try (Connection conn = PgConnector.connect(c.node(n.node()), "status", CONFLICT_BOUND)) {
                ConflictReport.read(conn, n.node(), since, RECENT).forEach(e -> events.add(e.withoutRows()));
            } catch (SQLException | RuntimeException e) {
                log.debug("node {}: recent conflicts not read: {}", n.node(), Errors.describe(e));
            }
        }
        events.sort(Comparator.comparing(ConflictReport.Event::recordedAt).reversed());
        return List.copyOf(events);
    }

    private void warn(MeshStatus s) {
        for (MeshStatus.NodeStatus n : s.nodes()) {
            for (MeshStatus.SlotStatus slot : n.slots()) {
                String key = n.node() + "/" + slot.slot();
                if (slot.overBudget() && overBudget.add(key)) {
                    log.warn("slot {} on {} holds {} of WAL, over slot-safety.warn-retained-wal: its target is down"
                            + " or far behind; bring it back, or remove it with pgmesh remove-node, before the disk"
                            + " fills", slot.slot(), n.node(), Sizes.human(slot.retainedWalBytes()));
                } else if (!slot.overBudget() && overBudget.remove(key)) {
                    log.info("slot {} on {} is back under slot-safety.warn-retained-wal", slot.slot(), n.node());
                }
            }
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
