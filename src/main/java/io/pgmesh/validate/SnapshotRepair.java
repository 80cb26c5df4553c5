package io.pgmesh.validate;

import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Resync's repair by key: brings a node's rows of a table to what a snapshot of the source holds,
 * writing only the keys that differ, with validate's comparison (bucket summaries, then the
 * differing buckets' rows merged by key). Rows that are already equal are not touched: no new row
 * versions, no WAL, no index churn, and readers on the node keep seeing them throughout.
 *
 * <p>The source is read inside the load's snapshot, so the result meets the load's hand-off
 * exactly as a reload would. Each differing key is written as {@link KeyWriter} writes it, and the
 * node's own row is handed to a {@link Saver} in the same transaction, before it is overwritten.
 */
public final class SnapshotRepair implements AutoCloseable {
    /** Rows merged in one pass over differing buckets: bounds the keys held in memory at once. */
    private static final long ROWS_PER_PASS = 50_000;

    /** Keeps the node's row of a key it is about to change (null: it lacked the key), in the transaction that changes it. */
    public interface Saver {
        void save(Connection target, TableName table, List<String> keyColumns, List<String> key, String rowOnNode)
                throws SQLException;
    }

    /** Told after each pass over a group of differing buckets, so a long repair shows how far it is. */
    public interface Progress {
        /**
         * @param compared rows of differing buckets compared so far (the larger side of each bucket)
         * @param toCompare rows of all differing buckets
         * @param written  keys written so far
         */
        void passed(TableName table, long compared, long toCompare, long written);
    }

    /** What repairing one table did. */
    public record Outcome(long rows, long differing, long inserted, long updated, long deleted) {
    }

    private final NodeReader source;
    private final NodeReader target;
    private final Connection writes;
    private final String targetName;
    private final KeyWriter writer;
    private final Saver saver;
    private final Progress progress;

    private SnapshotRepair(NodeReader source, NodeReader target, Connection writes, String targetName,
                           KeyWriter writer, Saver saver, Progress progress) {
        this.source = source;
        this.target = target;
        this.writes = writes;
        this.targetName = targetName;
        this.writer = writer;
        this.saver = saver;
        this.progress = progress;
    }

    /**
     * @param sourceInSnapshot a session on {@code sourceNode} inside the load's snapshot, with
     *                         validate's session settings made before the snapshot was imported
     * @param meshNodes        every node of the mesh by name
     */
    public static SnapshotRepair open(NodeConfig sourceNode, Connection sourceInSnapshot, NodeConfig targetNode,
                                      Set<String> meshNodes, Saver saver, Progress progress) throws SQLException {
        NodeReader target = NodeReader.open(targetNode);
        try {
            Connection writes = PgConnector.connect(targetNode, "resync repair");
            try {
                KeyWriter.prepare(writes);
                return new SnapshotRepair(NodeReader.within(sourceNode, sourceInSnapshot), target, writes,
                        targetNode.name(), new KeyWriter(meshNodes, sourceNode.name()), saver, progress);
            } catch (SQLException | RuntimeException e) {
                writes.close();
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            target.close();
            throw e;
        }
    }

    /** Validate's settings for a session that reads a snapshot for a repair: before its transaction begins. */
    public static String sessionSettings() {
        return NodeReader.SESSION_SETTINGS;
    }

    /** Empty when the table has no key both nodes share: its rows cannot be matched one by one. */
    public java.util.Optional<Outcome> repair(TableName table) throws SQLException {
        Map<String, TableColumns> columns = new LinkedHashMap<>();
        columns.put(source.name(), source.columns(table));
        columns.put(target.name(), target.columns(table));
        TableShape shape = TableShape.of(table, columns);
        if (!shape.keyed()) {
            return java.util.Optional.empty();
        }
        int digits = TableCheck.bucketDigits(Math.max(source.estimatedRows(table), target.estimatedRows(table)));
        Map<String, Map<String, BucketSummary>> buckets = new LinkedHashMap<>();
        buckets.put(source.name(), source.bucketSummaries(shape, digits));
        buckets.put(target.name(), target.bucketSummaries(shape, digits));
        long rows = BucketDiff.rows(buckets.get(source.name()));
        long[] done = new long[4];
        List<Set<String>> passes = passes(BucketDiff.differing(buckets), buckets);
        long toCompare = 0;
        for (Set<String> pass : passes) {
            toCompare += rowsIn(pass, buckets);
        }
        long compared = 0;
        for (Set<String> pass : passes) {
            for (Candidate c : merge(shape, digits, pass)) {
                fix(shape, c, done);
            }
            compared += rowsIn(pass, buckets);
            progress.passed(table, compared, toCompare, done[1] + done[2] + done[3]);
        }
        return java.util.Optional.of(new Outcome(rows, done[0], done[1], done[2], done[3]));
    }

    /** The differing buckets in groups of about {@link #ROWS_PER_PASS} rows. */
    private static List<Set<String>> passes(Set<String> differing, Map<String, Map<String, BucketSummary>> buckets) {
        List<Set<String>> passes = new ArrayList<>();
        Set<String> pass = new TreeSet<>();
        long rows = 0;
        for (String bucket : differing) {
            long inBucket = rowsIn(Set.of(bucket), buckets);
            if (!pass.isEmpty() && rows + inBucket > ROWS_PER_PASS) {
                passes.add(pass);
                pass = new TreeSet<>();
                rows = 0;
            }
            pass.add(bucket);
            rows += inBucket;
        }
        if (!pass.isEmpty()) {
            passes.add(pass);
        }
        return passes;
    }

    /** Rows of these buckets on the side that has more of them. */
    private static long rowsIn(Set<String> pass, Map<String, Map<String, BucketSummary>> buckets) {
        long rows = 0;
        for (String bucket : pass) {
            long inBucket = 0;
            for (Map<String, BucketSummary> node : buckets.values()) {
                BucketSummary s = node.get(bucket);
                inBucket = Math.max(inBucket, s == null ? 0 : s.rows());
            }
            rows += inBucket;
        }
        return rows;
    }

    private List<Candidate> merge(TableShape shape, int digits, Set<String> pass) throws SQLException {
        try (NodeReader.BucketStream fromSource = source.streamBuckets(shape, digits, pass);
             NodeReader.BucketStream onTarget = target.streamBuckets(shape, digits, pass)) {
            Map<String, RowCursor> cursors = new LinkedHashMap<>();
            cursors.put(source.name(), fromSource);
            cursors.put(target.name(), onTarget);
            return SortedMerge.merge(cursors, Integer.MAX_VALUE).candidates();
        }
    }

    /** One differing key: counted in {@code done} as differing, then inserted, updated or deleted. */
    private void fix(TableShape shape, Candidate c, long[] done) throws SQLException {
        TableName table = shape.table();
        List<String> key = c.key().keyParts();
        KeyWriter.Version truth = KeyWriter.Version.read(source.connection(), table, shape.key(), key);
        done[0]++;
        // The node's row is read again, locked, in the transaction that replaces it: its
        // applications may still write while it is repaired, and the row as it is then is the one
        // to keep. No tombstone stays for a key the repair deletes: the node takes the source's state.
        String change = writer.write(writes, targetName, table, shape.key(), key, truth,
                (conn, onNode) -> saver.save(conn, table, shape.key(), key, onNode.json()), false);
        if (change != null) {
            done[change.equals("insert") ? 1 : change.equals("update") ? 2 : 3]++;
        }
    }

    @Override
    public void close() throws SQLException {
        try {
            writer.release(writes);
            writes.close();
        } finally {
            target.close();
        }
    }
}
