package io.pgmesh.bench;

import io.pgmesh.apply.AppliedChanges;
import io.pgmesh.metrics.TaskMetrics;
import java.time.Duration;
import java.time.Instant;

/**
 * What the metrics add to the apply thread per transaction, measured alone: the per-table tally
 * of a pgbench TPC-B transaction (three updates and an insert, four tables) and its report at
 * commit (counters, the latency clock, the HdrHistogram, the Prometheus histogram's observer).
 * The whole-system comparison (bench/run.sh with and without the metrics) is noisier on two cores
 * than the bound it should prove; this gives the cost in nanoseconds, to set against the
 * CPU per transaction that bench/run.sh reports. Run by hand:
 * {@code BENCH_MAIN=io.pgmesh.bench.MetricsCostBench bench/run.sh}; see docs/BENCHMARKS.md.
 */
// bench: working tree only (it measures classes older commits lack)
public final class MetricsCostBench {
    private static final String[] TABLES = {"public.pgbench_accounts", "public.pgbench_tellers",
        "public.pgbench_branches", "public.pgbench_history"};

    public static void main(String[] args) {
        TaskMetrics m = new TaskMetrics("source->target", Duration.ofSeconds(2));
        double[] histogram = {0};
        m.observeLatencyWith(v -> histogram[0] += v);
        int rounds = 5;
        long perRound = 2_000_000;
        double best = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (long i = 0; i < perRound; i++) {
                AppliedChanges c = new AppliedChanges();
                c.add(TABLES[0], AppliedChanges.Op.UPDATE);
                c.add(TABLES[1], AppliedChanges.Op.UPDATE);
                c.add(TABLES[2], AppliedChanges.Op.UPDATE);
                c.add(TABLES[3], AppliedChanges.Op.INSERT);
                m.committed(Instant.now(), 4, c);
            }
            double ns = (System.nanoTime() - t0) / (double) perRound;
            best = Math.min(best, ns);
            System.out.printf("round %d: %.0f ns per transaction%n", r + 1, ns);
        }
        System.out.printf("metrics on the apply thread: %.0f ns per TPC-B transaction (best of %d rounds of %,d);"
                + " %d transactions counted, histogram sum %.0f%n", best, rounds, perRound, m.appliedTransactions(),
                histogram[0]);
    }
}
