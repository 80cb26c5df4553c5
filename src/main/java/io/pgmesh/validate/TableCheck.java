package io.pgmesh.validate;

import io.pgmesh.pg.TableName;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Compares one table on every node: bucket summaries in one scan per node; for differing buckets
 * a second scan streaming key and row hash, merged to find differing keys; then each such key
 * re-read after replication caught up, so that only differences that hold still are reported.
 */
final class TableCheck {
    /**
     * Differing keys kept for re-checking; each costs a few hundred bytes, and beyond this many a
     * table is plainly different, so the rest are only counted.
     */
    static final int CANDIDATE_LIMIT = 10_000;

    private final PerNode nodes;
    private final CatchUpGate gate;
    private final ValidateOptions options;

    TableCheck(PerNode nodes, CatchUpGate gate, ValidateOptions options) {
        this.nodes = nodes;
        this.gate = gate;
        this.options = options;
    }

    TableReport run(TableName table) throws ValidationException, InterruptedException {
        Map<String, Boolean> exists = nodes.run(n -> n.exists(table));
        List<String> missing = exists.entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList();
        if (!missing.isEmpty()) {
            return new TableReport(table.toString(), TableReport.Verdict.DIFFERENT, Map.of(), 0,
                    List.of(new KeyDifference("table", "missing on " + String.join(", ", missing))), 0, 0, List.of(), List.of());
        }
        Map<String, TableColumns> columns = nodes.run(n -> n.columns(table));
        TableShape shape = TableShape.of(table, columns);
        long estimate = nodes.run(n -> n.estimatedRows(table)).values().stream().mapToLong(Long::longValue).max().orElse(0);
        int digits = bucketDigits(estimate);
        Map<String, Map<String, BucketSummary>> buckets = nodes.run(n -> n.bucketSummaries(shape, digits));
        Map<String, Long> rows = new LinkedHashMap<>();
        buckets.forEach((node, b) -> rows.put(node, BucketDiff.rows(b)));
        Set<String> differing = BucketDiff.differing(buckets);
        if (differing.isEmpty()) {
            return new TableReport(table.toString(), TableReport.Verdict.IDENTICAL, rows, 0, List.of(), 0, 0, List.of(),
                    shape.notes());
        }
        SortedMerge.Result merged = merge(shape, digits, differing);
        return judge(shape, columns, rows, merged);
    }

    /** Hex digits of the bucket: 256 buckets up to ~500 k rows, then 4096, then 65536, so a bucket stays small. */
    static int bucketDigits(long rows) {
        return rows <= 512_000 ? 2 : rows <= 8_192_000 ? 3 : 4;
    }

    private SortedMerge.Result merge(TableShape shape, int digits, Set<String> buckets)
            throws ValidationException, InterruptedException {
        List<NodeReader.BucketStream> open = new CopyOnWriteArrayList<>();
        try {
            // Each node sorts its rows while the others do; the merge then only reads.
            Map<String, RowCursor> cursors = new LinkedHashMap<>(nodes.run(n -> {
                NodeReader.BucketStream s = n.streamBuckets(shape, digits, buckets);
                open.add(s);
                return s;
            }));
            try {
                return SortedMerge.merge(cursors, CANDIDATE_LIMIT);
            } catch (SQLException e) {
                throw new ValidationException("comparing " + shape.table() + ": " + io.pgmesh.pg.Errors.describe(e), e);
            }
        } finally {
            for (NodeReader.BucketStream s : open) {
                try {
                    s.close();
                } catch (SQLException ignored) {
                    // the stream was read; its transaction only read
                }
            }
        }
    }

    private TableReport judge(TableShape shape, Map<String, TableColumns> columns, Map<String, Long> rows,
                              SortedMerge.Result merged) throws ValidationException, InterruptedException {
        Map<String, Candidate> pending = new LinkedHashMap<>();
        merged.candidates().forEach(c -> pending.put(c.key().keyText(), c));
        List<Candidate> confirmed = new ArrayList<>();
        long settled = 0;
        Map<String, String> samples = new ConcurrentHashMap<>();
        for (int round = 0; round < options.recheckRounds() && !pending.isEmpty(); round++) {
            gate.await();
            List<RowEntry> keys = pending.values().stream().map(Candidate::key).toList();
            Map<String, Map<String, String>> now = nodes.run(n -> n.reread(shape, columns.get(n.name()), keys, samples));
            for (Candidate before : new ArrayList<>(pending.values())) {
                Map<String, String> after = new LinkedHashMap<>();
                now.forEach((node, images) -> after.put(node, images.get(before.key().keyText())));
                switch (Recheck.judge(before.images(), after)) {
                    case SETTLED -> {
                        pending.remove(before.key().keyText());
                        settled++;
                    }
                    case CONFIRMED -> {
                        pending.remove(before.key().keyText());
                        confirmed.add(before);
                    }
                    case CHANGING -> pending.put(before.key().keyText(), new Candidate(before.key(), after));
                }
            }
        }
        List<String> notes = new ArrayList<>(shape.notes());
        long unchecked = merged.differing() - merged.candidates().size();
        if (!pending.isEmpty()) {
            notes.add(pending.size() + " keys changed in each of " + options.recheckRounds()
                    + " re-checks (busy keys): not judged");
        }
        TableReport.Verdict verdict = !confirmed.isEmpty() ? TableReport.Verdict.DIFFERENT
                : pending.isEmpty() && unchecked == 0 ? TableReport.Verdict.IDENTICAL : TableReport.Verdict.UNSETTLED;
        List<KeyDifference> shown = confirmed.stream().limit(options.shownPerTable())
                .map(c -> difference(shape, c, samples)).toList();
        List<String> busy = pending.values().stream().limit(options.shownPerTable())
                .map(c -> difference(shape, c, samples).key()).toList();
        TableReport.RepairKeys repair = shape.keyed() ? new TableReport.RepairKeys(shape.table(), shape.key(),
                confirmed.stream().map(c -> c.key().keyParts()).toList()) : null;
        return new TableReport(shape.table().toString(), verdict, rows, confirmed.size(), shown, settled, unchecked, busy,
                notes, repair);
    }

    private static KeyDifference difference(TableShape shape, Candidate c, Map<String, String> samples) {
        if (shape.keyed()) {
            return new KeyDifference(KeyDifference.keyed(shape.key(), c.key().keyParts()),
                    KeyDifference.describeKeyed(c.images()));
        }
        String sample = samples.get(c.key().keyText());
        return new KeyDifference(sample == null ? "row with md5 " + c.key().keyText() : "row " + sample,
                KeyDifference.describeMultiset(c.images()));
    }
}
