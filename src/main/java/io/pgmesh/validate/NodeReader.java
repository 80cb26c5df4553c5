package io.pgmesh.validate;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.ReplicaIdentity;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Runs the comparison's queries on one node, over one connection. Each step commits at once, so
 * validation never holds a snapshot (and with it vacuum) for longer than one query.
 */
final class NodeReader implements AutoCloseable {
    /** Rows fetched per round trip while streaming: a server-side cursor keeps the heap small. */
    private static final int FETCH_SIZE = 2000;

    /**
     * Every value's text must be the same on every node whatever its server's defaults, because
     * row hashes are taken over text.
     */
    static final String SESSION_SETTINGS = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
            + " SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex';"
            + " SET lc_monetary = 'C'";

    private static final String COLUMNS = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '',
                   COALESCE(a.attnum = ANY ((SELECT i.indkey FROM pg_index i WHERE i.indrelid = c.oid
                       AND (%s OR c.relreplident = 'f' AND i.indisprimary))::int2[]), false)
              FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.oid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum""".formatted(ReplicaIdentity.isIdentityIndex("i"));
    /** The table's indexes, each as CREATE INDEX without its name: names may differ between nodes. */
    private static final String INDEXES = "SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON ',"
            + " 'CREATE \\1INDEX ON ') d FROM pg_index WHERE indrelid = to_regclass(?) ORDER BY d";

    private final NodeConfig node;
    private final Connection conn;
    /** False when the reader runs inside a transaction it does not own (a load's snapshot). */
    private final boolean commits;

    private NodeReader(NodeConfig node, Connection conn, boolean commits) {
        this.node = node;
        this.conn = conn;
        this.commits = commits;
    }

    /**
     * A reader over a session already inside a transaction that must last, such as one that
     * imported a load's snapshot: its steps never commit, and closing it leaves the session open.
     * The session must have {@link #SESSION_SETTINGS}, set before its transaction began.
     */
    static NodeReader within(NodeConfig node, Connection inTransaction) {
        return new NodeReader(node, inTransaction, false);
    }

    static NodeReader open(NodeConfig node) throws SQLException {
        Connection conn = PgConnector.connect(node, "validate");
        try {
            Sql.exec(conn, SESSION_SETTINGS);
            conn.setAutoCommit(false);
            return new NodeReader(node, conn, true);
        } catch (SQLException | RuntimeException e) {
            conn.close();
            throw e;
        }
    }

    Connection connection() {
        return conn;
    }

    String name() {
        return node.name();
    }

    Set<TableName> published() throws SQLException {
        try {
            return PublicationManager.published(conn);
        } finally {
            endStep();
        }
    }

    /** Whether the slot is being read: empty when the node has no such slot. */
    Optional<Boolean> slotActive(String slot) throws SQLException {
        try {
            return Sql.queryString(conn, "SELECT active FROM pg_replication_slots WHERE slot_name = ?", slot)
                    .map(s -> s.equals("t") || s.equals("true"));
        } finally {
            endStep();
        }
    }

    boolean exists(TableName t) throws SQLException {
        try {
            return Sql.queryBool(conn, "SELECT to_regclass(?) IS NOT NULL", t.quoted());
        } finally {
            endStep();
        }
    }

    TableColumns columns(TableName t) throws SQLException {
        List<TableColumns.Column> columns = new ArrayList<>();
        List<String> key = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(COLUMNS)) {
            ps.setString(1, t.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(new TableColumns.Column(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
                    if (rs.getBoolean(4)) {
                        key.add(rs.getString(1));
                    }
                }
            }
            return new TableColumns(columns, key, Sql.queryColumn(conn, INDEXES, t.quoted()));
        } finally {
            endStep();
        }
    }

    /** Rows the table may hold: the planner's estimate, or its size at 100 bytes a row if larger. */
    long estimatedRows(TableName t) throws SQLException {
        try {
            return Long.parseLong(Sql.queryString(conn, "SELECT greatest(c.reltuples, pg_relation_size(c.oid) / 100)::bigint"
                    + " FROM pg_class c WHERE c.oid = to_regclass(?)", t.quoted()).orElse("0"));
        } finally {
            endStep();
        }
    }

    Map<String, BucketSummary> bucketSummaries(TableShape shape, int digits) throws SQLException {
        Map<String, BucketSummary> buckets = new HashMap<>();
        try (PreparedStatement ps = conn.prepareStatement(ValidationSql.bucketSummaries(shape, digits))) {
            ps.setFetchSize(FETCH_SIZE);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    buckets.put(rs.getString(1), new BucketSummary(rs.getLong(2), rs.getString(3), rs.getString(4)));
                }
            }
        } finally {
            endStep();
        }
        return buckets;
    }

    /** Opens the stream of the rows in {@code buckets}; the caller closes it, which ends its transaction. */
    BucketStream streamBuckets(TableShape shape, int digits, Set<String> buckets) throws SQLException {
        PreparedStatement ps = conn.prepareStatement(ValidationSql.bucketRows(shape, digits));
        try {
            ps.setFetchSize(FETCH_SIZE);
            ps.setArray(1, conn.createArrayOf("text", buckets.toArray()));
            return new BucketStream(this, ps, ps.executeQuery(), shape.key().size());
        } catch (SQLException | RuntimeException e) {
            ps.close();
            if (commits) {
                conn.rollback();
            }
            throw e;
        }
    }

    /** Per candidate key, this node's row image now: the row's md5 (keyed) or its count (multiset). */
    Map<String, String> reread(TableShape shape, TableColumns mine, List<RowEntry> keys, Map<String, String> samples)
            throws SQLException {
        Map<String, String> images = new HashMap<>();
        try {
            if (shape.keyed()) {
                rereadKeyed(shape, mine, keys, images);
            } else {
                rereadMultiset(shape, keys, images, samples);
            }
        } finally {
            endStep();
        }
        return images;
    }

    private void rereadKeyed(TableShape shape, TableColumns mine, List<RowEntry> keys, Map<String, String> images)
            throws SQLException {
        List<String> types = shape.key().stream().map(mine::typeOf).toList();
        try (PreparedStatement ps = conn.prepareStatement(ValidationSql.recheckKeyed(shape, types))) {
            for (int col = 0; col < shape.key().size(); col++) {
                Object[] values = new Object[keys.size()];
                for (int i = 0; i < keys.size(); i++) {
                    values[i] = keys.get(i).keyParts().get(col);
                }
                ps.setArray(col + 1, conn.createArrayOf("text", values));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    images.put(keys.get(rs.getInt(1) - 1).keyText(), rs.getString(2));
                }
            }
        }
    }

    private void rereadMultiset(TableShape shape, List<RowEntry> keys, Map<String, String> images,
                                Map<String, String> samples) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(ValidationSql.recheckMultiset(shape))) {
            ps.setArray(1, conn.createArrayOf("text", keys.stream().map(RowEntry::keyText).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    images.put(rs.getString(1), rs.getString(2));
                    samples.putIfAbsent(rs.getString(1), rs.getString(3));
                }
            }
        }
    }

    /** Each step commits at once, unless the reader runs inside a transaction it does not own. */
    private void endStep() throws SQLException {
        if (commits) {
            conn.commit();
        }
    }

    @Override
    public void close() throws SQLException {
        if (commits) {
            conn.close();
        }
    }

    /** One node's rows of some buckets, read through a server-side cursor. */
    static final class BucketStream implements RowCursor, AutoCloseable {
        private final NodeReader reader;
        private final PreparedStatement ps;
        private final ResultSet rs;
        private final int keyColumns;

        private BucketStream(NodeReader reader, PreparedStatement ps, ResultSet rs, int keyColumns) {
            this.reader = reader;
            this.ps = ps;
            this.rs = rs;
            this.keyColumns = keyColumns;
        }

        @Override
        public RowEntry next() throws SQLException {
            if (!rs.next()) {
                return null;
            }
            if (keyColumns == 0) {
                String kh = rs.getString(1);
                return new RowEntry(kh, kh, List.of(kh), rs.getString(2));
            }
            List<String> parts = new ArrayList<>(keyColumns);
            for (int i = 0; i < keyColumns; i++) {
                parts.add(rs.getString(3 + i));
            }
            return new RowEntry(rs.getString(1), rs.getString(2), parts, rs.getString(3 + keyColumns));
        }

        @Override
        public void close() throws SQLException {
            try {
                rs.close();
                ps.close();
            } finally {
                reader.endStep();
            }
        }
    }
}
