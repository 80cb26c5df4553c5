package io.pgmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.pgmesh.monitor.MeshStatus;
import io.pgmesh.monitor.StatusReader;
import io.pgmesh.metrics.TableStats;
import io.pgmesh.pg.Sizes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code pgmesh status}: tasks and nodes as the databases see them, and each task as its run
 * process last reported it. Exit 1 when a node is unreachable or a task failed.
 */
@Command(name = "status", description = "Show slots, lag, origin progress and WAL senders of every task and node.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOption config;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Option(names = "--watch", description = "redraw the view every second until Ctrl-C, like top")
    boolean watch;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (watch) {
            return watch();
        }
        MeshStatus status = StatusReader.read(config.load());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(status));
        } else {
            print(status, out);
        }
        out.flush();
        return status.healthy() ? Main.OK : Main.FAILED;
    }

    /**
     * Reads and redraws until interrupted: each reading is bounded like a single status, so a
     * node that stops answering shows up as unreachable within that bound instead of freezing
     * the screen.
     */
    private Integer watch() throws Exception {
        if (json) {
            throw new ExitException(Main.USAGE, "--watch redraws a table for a terminal; it does not go with --json");
        }
        var mesh = config.load();
        PrintWriter out = spec.commandLine().getOut();
        Thread main = Thread.currentThread();
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> main.interrupt());
        try {
            while (true) {
                long started = System.nanoTime();
                MeshStatus status = StatusReader.read(mesh);
                if (Thread.interrupted()) {
                    throw new InterruptedException(); // Ctrl-C during the reading: no half-read frame
                }
                StringWriter frame = new StringWriter();
                PrintWriter f = new PrintWriter(frame);
                f.println("pgmesh status   " + java.time.LocalTime.now().withNano(0) + "   (every second; Ctrl-C ends)");
                f.println();
                print(status, f);
                f.flush();
                out.print("\033[H\033[2J" + frame);
                out.flush();
                long left = 1000 - (System.nanoTime() - started) / 1_000_000;
                if (left > 0) {
                    Thread.sleep(left);
                }
            }
        } catch (InterruptedException e) {
            out.println();
            out.flush();
            return Main.OK;
        }
    }

    private static void print(MeshStatus s, PrintWriter out) {
        out.printf("%-22s %-7s %-14s %-14s %12s %-14s %-32s %10s  %s%n", "TASK", "SLOT", "SOURCE LSN", "CONFIRMED",
                "LAG BYTES", "ORIGIN", "LAST APPLIED COMMIT", "LATENCY", "STATE");
        for (MeshStatus.TaskStatus t : s.tasks()) {
            String slot = t.slotActive() == null ? "-" : t.slotInvalidation() != null ? "invalid"
                    : t.slotActive() ? "active" : "idle";
            out.printf("%-22s %-7s %-14s %-14s %12s %-14s %-32s %10s  %s%n", t.task(), slot, dash(t.sourceCurrentLsn()),
                    dash(t.slotConfirmedLsn()), t.lagBytes() == null ? "-" : t.lagBytes(), dash(t.originProgress()),
                    dash(t.lastAppliedCommitTime()), t.lastAppliedLatencyMs() == null ? "-" : t.lastAppliedLatencyMs() + " ms",
                    state(t.run()));
            if (t.error() != null) {
                out.println("    ! " + t.error());
            }
            String lease = leaseLine(t.lease());
            if (lease != null) {
                out.println("    " + lease);
            }
            String run = runLine(t.run());
            if (run != null) {
                out.println("    " + run);
            }
            tableLines(t.run(), out);
        }
        out.println();
        clockLine(s.clockSkew(), out);
        for (MeshStatus.NodeStatus n : s.nodes()) {
            if (!n.reachable()) {
                out.println(n.error());
                continue;
            }
            out.println("node " + n.node() + " (server " + n.serverVersion() + ")");
            for (MeshStatus.SlotStatus slot : n.slots()) {
                out.printf("  slot %-28s %-7s confirmed %-14s retains %-9s wal_status %-10s safe_wal_size %s%s%n",
                        slot.slot(), slot.active() ? "active" : "idle", slot.confirmedLsn(),
                        Sizes.human(slot.retainedWalBytes()), dash(slot.walStatus()),
                        slot.safeWalSize() == null ? "unbounded" : Sizes.human(slot.safeWalSize()),
                        slot.invalidation() == null ? "" : "  INVALIDATED: " + slot.invalidation());
                if (slot.overBudget() && slot.invalidation() == null) {
                    out.println("  ! slot " + slot.slot() + " holds " + Sizes.human(slot.retainedWalBytes()) + " of WAL on "
                            + n.node() + ", over slot-safety.warn-retained-wal: its target is down or far behind;"
                            + " bring it back, or pgmesh remove-node it, before the disk fills");
                }
            }
            for (MeshStatus.WalSender w : n.walSenders()) {
                out.printf("  wal sender %-30s %-10s sent %-14s flushed %s%n", w.applicationName(), w.state(),
                        dash(w.sentLsn()), dash(w.flushLsn()));
            }
            keptLine(n.controlTables(), s.nodes().stream().filter(o -> !o.reachable()).map(MeshStatus.NodeStatus::node)
                    .toList(), out);
        }
    }

    /**
     * What pgmesh keeps on the node that grows with use: {@code kept conflicts 12 rows (64 kB), ...};
     * a node that cannot be reached cannot confirm the deletes it saw, so it holds tombstones back.
     */
    private static void keptLine(List<MeshStatus.ControlTable> tables, List<String> unreachable, PrintWriter out) {
        if (tables.isEmpty()) {
            return;
        }
        boolean tombstones = tables.stream().anyMatch(t -> t.table().equals("tombstones") && t.rows() > 0);
        out.println("  kept " + tables.stream().map(t -> String.format("%s %,d rows (%s)", t.table().replace('_', ' '),
                t.rows(), Sizes.human(t.bytes()))).collect(java.util.stream.Collectors.joining(", "))
                + (tombstones && !unreachable.isEmpty() ? "; tombstone pruning waits for " + String.join(", ", unreachable)
                + " (unreachable)" : ""));
    }

    /**
     * The nodes' clocks: concurrent conflicts are decided by commit time, so a wide skew tilts
     * them toward the node that runs ahead (the same bound as {@code check}'s).
     */
    private static void clockLine(MeshStatus.ClockSkew skew, PrintWriter out) {
        if (skew == null) {
            return;
        }
        String line = "clock skew " + skew.skewMs() + " ms (" + skew.ahead() + " ahead of " + skew.behind()
                + ", measured to within " + skew.uncertaintyMs() + " ms)";
        if (skew.skewMs() - skew.uncertaintyMs() > 500) {
            out.println("! " + line + ": concurrent conflicts favour " + skew.ahead()
                    + "; synchronise the nodes' clocks (chrony or ntpd against one source)");
        } else {
            out.println(line);
        }
    }

    private static String state(MeshStatus.RunState run) {
        return run == null ? "-" : run.stale() && !ended(run) ? "gone" : run.state();
    }

    /** Which run process holds the task, or since when none does. */
    private static String leaseLine(MeshStatus.Lease lease) {
        if (lease == null) {
            return null;
        }
        if (lease.live()) {
            return "held by " + lease.process() + (lease.preferred() ? " (--targets)" : "") + ", lease renewed, "
                    + lease.secondsLeft() + " s left";
        }
        return "held by no process: the lease of " + lease.process() + " ran out " + -lease.secondsLeft()
                + " s ago; a standby run takes the task within seconds, else start pgmesh run";
    }

    /** The line under a task that says what its process reported, when there is something to say. */
    private static String runLine(MeshStatus.RunState run) {
        if (run == null) {
            return "no pgmesh run has reported on this task yet";
        }
        if (run.stale() && !ended(run)) {
            return "! pgmesh run (" + run.process() + ") is not connected to this task's target: it stopped, or"
                    + " cannot reach it; its last word, " + run.state() + " since " + run.since() + ": " + run.detail();
        }
        if ("failed".equals(run.state()) || "retrying".equals(run.state()) || "waiting".equals(run.state())) {
            return "! " + run.state() + " since " + run.since() + " in " + run.process() + ": " + run.detail();
        }
        return null;
    }

    /** The changes the task's process applied per table, as it last reported them. */
    private static void tableLines(MeshStatus.RunState run, PrintWriter out) {
        if (run == null || run.tableStats() == null) {
            return;
        }
        try {
            for (TableStats t : TABLE_STATS.<List<TableStats>>readValue(run.tableStats())) {
                out.printf("    %-40s %d inserts, %d updates, %d deletes, %d truncates%n", t.table(), t.inserts(),
                        t.updates(), t.deletes(), t.truncates());
            }
        } catch (java.io.IOException e) {
            out.println("    (table statistics unreadable: " + e.getMessage() + ")");
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectReader TABLE_STATS = new ObjectMapper()
            .readerForListOf(TableStats.class);

    private static boolean ended(MeshStatus.RunState run) {
        return "stopped".equals(run.state()) || "failed".equals(run.state());
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }


}
