package io.pgmesh.load;

import io.pgmesh.capture.PublicationManager;
import io.pgmesh.capture.SlotManager;
import io.pgmesh.config.NodeConfig;
import io.pgmesh.config.TableSelection;
import io.pgmesh.pg.Lsn;
import io.pgmesh.pg.PgConnector;
import io.pgmesh.pg.Sql;
import io.pgmesh.pg.TableName;
import io.pgmesh.topology.Names;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.stream.Stream;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One initial load, source to target: the task's slot is created with an exported snapshot, the
 * missing tables are created on the target, every replicated table is copied inside that snapshot
 * by several workers at once, then keys, indexes and sequences are finished on the target. The
 * task later streams from the slot's consistent point, so the copy and the stream meet exactly.
 *
 * <p>The target has no slot of its own while its rows arrive (the caller creates them after), so
 * the loaded rows are never decoded there and never travel back to the source.
 */
public final class InitialLoad {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.init");

    /** What a finished load did. */
    public record Result(int tables, long rows, long bytes, double seconds, Lsn consistentPoint) {
    }

    private final NodeConfig source;
    private final NodeConfig target;
    private final TableSelection selection;
    private final int jobs;
    private final long sliceBytes;
    private final LoadProgress progress;
    private final PeerHandoff handoff;
    private final OwnSlots ownSlots;
    private KeyRepair repair;

    /** Creates the target's own slots toward the other nodes, once its rows are in. */
    public interface OwnSlots {
        void create() throws SQLException;
    }

    /**
     * Brings a table the target already holds to the snapshot by changing only the keys that
     * differ, instead of emptying it and copying every row (resync's repair mode).
     */
    public interface KeyRepair {
        /** Run on the source session before it imports the snapshot (the repair's own session settings). */
        String sessionSettings();

        Session open(Connection sourceInSnapshot) throws SQLException;

        /** One repair over the load's snapshot. */
        interface Session extends AutoCloseable {
            /** False when the table's rows cannot be matched by key: the load empties and copies it. */
            boolean repair(TableName table) throws SQLException;

            @Override
            void close() throws SQLException;
        }
    }

    /**
     * @param jobs       copying sessions at once, each a source and a target connection
     * @param sliceBytes tables bigger than this are cut into slices of about this size, so that
     *                   several workers share a big table; 0 copies every table in one piece
     * @param handoff    the running nodes whose changes must reach the target from where the
     *                   snapshot leaves off
     * @param ownSlots   creates the target's own slots, after its rows and before the load is done
     */
    public InitialLoad(NodeConfig source, NodeConfig target, TableSelection selection, int jobs, long sliceBytes,
                       LoadProgress progress, PeerHandoff handoff, OwnSlots ownSlots) {
        this.source = source;
        this.target = target;
        this.selection = selection;
        this.jobs = jobs;
        this.sliceBytes = sliceBytes;
        this.progress = progress;
        this.handoff = handoff;
        this.ownSlots = ownSlots;
    }

    /** Repairs the tables the target already has rather than reloading them; the caller must not have emptied them. */
    public InitialLoad repairingBy(KeyRepair repair) {
        this.repair = repair;
        return this;
    }

    public Result run() throws SQLException, LoadException, InterruptedException {
        long started = System.nanoTime();
        String slot = Names.slot(source.name(), target.name());
        List<Connection> opened = Collections.synchronizedList(new ArrayList<>());
        try (Connection targetConn = PgConnector.connect(target, "init " + slot);
             Connection planner = PgConnector.connect(source, "init " + slot)) {
            List<TableName> tables = new ArrayList<>(PublicationManager.published(planner));
            List<TableName> missing = missingOn(targetConn, tables);
            recordStart(targetConn, tables);
            SlotManager.recordStart(planner, slot);
            // Before the snapshot: the peers' slots must be able to send whatever it lacks.
            handoff.copySlots();
            SnapshotSlot snapshot = SnapshotSlot.create(source, slot);
            List<Worker> workers = new ArrayList<>();
            List<TableDefinition> definitions = new ArrayList<>();
            List<TableDefinition> created;       // the published tables the target lacked: loaded, then keyed
            List<TableDefinition> createdAll;    // those and the partitioned tables above them
            long pageSize;
            ExecutorService opener = Executors.newFixedThreadPool(jobs, r -> new Thread(r, "init open"));
            Connection repairSource = null;
            try (snapshot) {
                // The copying sessions open, a few round trips each, while the schema is read and created.
                List<Future<Worker>> opening = new ArrayList<>();
                for (int i = 0; i < jobs; i++) {
                    opening.add(opener.submit(() -> openWorker(snapshot, slot, opened)));
                }
                snapshot.importInto(planner);
                handoff.readProgress(planner);
                SchemaReader reader = new SchemaReader(planner);
                for (TableName t : tables) {
                    definitions.add(reader.table(t));
                }
                pageSize = Long.parseLong(Sql.queryString(planner, "SHOW block_size").orElseThrow());
                created = definitions.stream().filter(d -> missing.contains(d.name())).toList();
                List<TableDefinition> parents = missingParents(targetConn, reader, created);
                createdAll = Stream.concat(parents.stream(), created.stream()).toList();
                createTables(targetConn, createdAll, reader);
                for (Future<Worker> w : opening) {
                    workers.add(await(w));
                }
                if (repair != null) {
                    repairSource = PgConnector.connect(source, "init repair " + slot);
                    opened.add(repairSource);
                    Sql.exec(repairSource, repair.sessionSettings() + "; SET idle_in_transaction_session_timeout = 0");
                    snapshot.importInto(repairSource);
                }
            } finally {
                // Every session opened is in `opened` before it is closed, also when the load failed.
                opener.shutdown();
                opener.awaitTermination(1, TimeUnit.MINUTES);
            }
            log.info("initial load {} -> {}: snapshot at {}, {} table(s), {} worker(s)", source.name(), target.name(),
                    snapshot.consistentPoint(), tables.size(), jobs);
            long copyStarted = System.nanoTime();
            List<TableDefinition> copied = repair == null ? definitions
                    : repairExisting(repairSource, targetConn, definitions, created);
            copyAll(copied, pageSize, workers, created);
            if (!handoff.peers().isEmpty()) {
                VersionStamps stamps = new VersionStamps(source, handoff.seenByPeer(), handoff.nodes());
                for (TableDefinition d : definitions) {
                    stamps.run(planner, targetConn, d);
                }
            }
            long finishStarted = System.nanoTime();
            for (String statement : SchemaWriter.foreignKeys(createdAll)) {
                Sql.exec(targetConn, statement);
            }
            SequenceSync.run(targetConn, definitions);
            PublicationManager.reconcile(targetConn, selection);
            log.info("initial load {} -> {}: rows, keys and indexes in {} s, then foreign keys, sequences and"
                    + " publication in {} s", source.name(), target.name(), seconds(finishStarted - copyStarted),
                    seconds(System.nanoTime() - finishStarted));
            double seconds = (System.nanoTime() - started) / 1e9;
            recordDone(targetConn, snapshot.consistentPoint());
            return new Result(tables.size(), progress.totalRows(), progress.totalBytes(), seconds, snapshot.consistentPoint());
        } finally {
            for (Connection c : opened) {
                closeQuietly(c);
            }
        }
    }

    /**
     * Repairs every table the target already had; returns the tables left to copy: those the load
     * created, and those whose rows cannot be matched by key, emptied first.
     */
    private List<TableDefinition> repairExisting(Connection sourceInSnapshot, Connection targetConn,
                                                 List<TableDefinition> definitions, List<TableDefinition> created)
            throws SQLException {
        List<TableDefinition> toCopy = new ArrayList<>();
        try (KeyRepair.Session session = repair.open(sourceInSnapshot)) {
            for (TableDefinition d : definitions) {
                if (created.contains(d)) {
                    toCopy.add(d);
                } else if (d.partitioned()) {
                    continue; // its rows live in its partitions, repaired each on its own
                } else if (!session.repair(d.name())) {
                    log.info("initial load {} -> {}: {} has no key to repair by: emptied and copied", source.name(),
                            target.name(), d.name());
                    // A replica session: the target's own triggers and foreign keys stay out of it, as in a copy.
                    Sql.exec(targetConn, "SET session_replication_role = replica; DELETE FROM " + d.name().quoted()
                            + "; RESET session_replication_role");
                    toCopy.add(d);
                }
            }
        }
        return toCopy;
    }

    /** A source session inside the load's snapshot and a target session set up for loading. */
    private Worker openWorker(SnapshotSlot snapshot, String slot, List<Connection> opened) throws SQLException {
        Connection s = PgConnector.connect(source, "init copy " + slot);
        opened.add(s);
        // It may wait in its transaction while other tables are copied or repaired.
        Sql.exec(s, "SET idle_in_transaction_session_timeout = 0");
        snapshot.importInto(s);
        Connection t = PgConnector.connect(target, "init copy " + slot);
        opened.add(t);
        // Sorting for a key or index build in memory rather than on disk is much faster.
        Sql.exec(t, "SET session_replication_role = replica; SET synchronous_commit = off;"
                + " SET maintenance_work_mem = '256MB'");
        return new Worker(s, t);
    }

    private static Worker await(Future<Worker> opening) throws SQLException, InterruptedException {
        try {
            return opening.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            throw new SQLException("opening a copying session failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * The partitioned tables above the partitions to create that the target lacks, each before
     * its own partitions: a partition is created as one, inside its parent.
     */
    private static List<TableDefinition> missingParents(Connection target, SchemaReader reader,
                                                        List<TableDefinition> toCreate) throws SQLException {
        List<TableDefinition> parents = new ArrayList<>();
        Set<TableName> seen = new HashSet<>();
        for (TableDefinition d : toCreate) {
            List<TableDefinition> chain = new ArrayList<>();
            TableName parent = d.parent();
            while (parent != null && seen.add(parent) && !existsOn(target, parent)) {
                TableDefinition p = reader.table(parent);
                chain.add(0, p);
                parent = p.parent();
            }
            parents.addAll(chain);
        }
        return parents;
    }

    private static List<TableName> missingOn(Connection target, List<TableName> tables) throws SQLException {
        List<TableName> missing = new ArrayList<>();
        for (TableName t : tables) {
            if (!existsOn(target, t)) {
                missing.add(t);
            }
        }
        return missing;
    }

    private static boolean existsOn(Connection target, TableName table) throws SQLException {
        return Sql.queryBool(target, "SELECT to_regclass(?) IS NOT NULL", table.quoted());
    }

    private void createTables(Connection targetConn, List<TableDefinition> toCreate, SchemaReader reader)
            throws SQLException, LoadException {
        if (toCreate.isEmpty()) {
            return;
        }
        List<TableName> names = SchemaWriter.names(toCreate);
        List<String> ddl = SchemaWriter.beforeRows(toCreate, reader.types(names), reader.sequences(names), targetConn);
        targetConn.setAutoCommit(false);
        try {
            for (String statement : ddl) {
                Sql.exec(targetConn, statement);
            }
            // In the transaction that creates them: a rerun drops only tables that this load made.
            recordCreated(targetConn, toCreate);
            targetConn.commit();
        } catch (SQLException e) {
            targetConn.rollback();
            throw e;
        } finally {
            targetConn.setAutoCommit(true);
        }
        log.info("initial load {} -> {}: created {} table(s) on {}: {}", source.name(), target.name(), names.size(),
                target.name(), names);
    }

    /**
     * Copies every chunk; the worker that copies a created table's last chunk builds its keys and
     * indexes at once, while the others go on copying.
     */
    private void copyAll(List<TableDefinition> definitions, long pageSize, List<Worker> workers,
                         List<TableDefinition> created) throws SQLException, InterruptedException {
        List<CopyChunk> chunks = CopyChunk.plan(definitions, pageSize, sliceBytes);
        for (TableDefinition d : definitions) {
            progress.table(d.name(), d.estimatedRows(), (int) chunks.stream().filter(c -> c.table() == d).count());
        }
        Queue<CopyChunk> queue = new ConcurrentLinkedQueue<>(chunks);
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (Worker w : workers) {
            Thread th = new Thread(() -> w.drain(queue, failure, created), "init copy");
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) {
            while (th.isAlive()) {
                th.join(1000);
                progress.show();
            }
        }
        progress.show();
        Exception e = failure.get();
        if (e instanceof SQLException sql) {
            throw sql;
        } else if (e != null) {
            throw new SQLException("copy failed: " + e.getMessage(), e);
        }
    }

    private void recordStart(Connection target, List<TableName> loaded) throws SQLException {
        markLoading(target, source.name(), loaded);
    }

    /**
     * Records on {@code target} that a load from {@code source} into these tables is under way:
     * until it is done, every task into or out of the node waits, and the next init empties the
     * tables and loads again.
     */
    public static void markLoading(Connection target, String source, List<TableName> loaded) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("""
                INSERT INTO pgmesh.initial_load (source_node, state, created_tables, loaded_tables)
                VALUES (?, 'loading', '{}', ?::text[])
                ON CONFLICT (source_node) DO UPDATE SET state = 'loading', started_at = now(), finished_at = NULL,
                    created_tables = '{}', loaded_tables = excluded.loaded_tables""")) {
            ps.setString(1, source);
            ps.setArray(2, target.createArrayOf("text", loaded.stream().map(TableName::quoted).toArray()));
            ps.executeUpdate();
        }
    }

    /** The tables this load creates (partitioned parents too): a rerun after an interruption drops them. */
    private void recordCreated(Connection target, List<TableDefinition> created) throws SQLException {
        try (PreparedStatement ps = target.prepareStatement("""
                UPDATE pgmesh.initial_load SET created_tables = created_tables || ?::text[] WHERE source_node = ?""")) {
            ps.setArray(1, target.createArrayOf("text", created.stream().map(p -> p.name().quoted()).toArray()));
            ps.setString(2, source.name());
            ps.executeUpdate();
        }
    }

    /**
     * The load is done, and where each running peer's changes follow from, in one transaction.
     * The target's own slots exist before that: a task into or out of it starts the moment the
     * load is done, and what it knows of the target (that the other node has seen every version
     * committed before the target's slot toward it) must already hold; and nothing the target
     * takes from then on may go unsent.
     */
    private void recordDone(Connection target, Lsn consistentPoint) throws SQLException {
        ownSlots.create();
        handoff.startOrigins(target);
        target.setAutoCommit(false);
        try (PreparedStatement ps = target.prepareStatement("""
                UPDATE pgmesh.initial_load SET state = 'done', finished_at = now(), consistent_lsn = ?::pg_lsn,
                       rows_copied = ?, bytes_copied = ? WHERE source_node = ?""")) {
            handoff.recordProgress(target);
            ps.setString(1, consistentPoint.toString());
            ps.setLong(2, progress.totalRows());
            ps.setLong(3, progress.totalBytes());
            ps.setString(4, source.name());
            ps.executeUpdate();
            // This load makes the node complete: an earlier one from another source that was
            // interrupted no longer holds its tasks back.
            Sql.queryString(target, "DELETE FROM pgmesh.initial_load WHERE state = 'loading' AND source_node <> ?"
                    + " RETURNING 1", source.name());
            target.commit();
        } catch (SQLException e) {
            target.rollback();
            throw e;
        } finally {
            target.setAutoCommit(true);
        }
    }

    /** One copying session pair; takes chunks until none is left or another worker failed. */
    private final class Worker {
        private final Connection source;
        private final Connection target;

        Worker(Connection source, Connection target) {
            this.source = source;
            this.target = target;
        }

        void drain(Queue<CopyChunk> queue, AtomicReference<Exception> failure, List<TableDefinition> createdTables) {
            CopyChunk chunk;
            while (failure.get() == null && (chunk = queue.poll()) != null) {
                TableName name = chunk.table().name();
                try {
                    progress.chunkStarted(name);
                    boolean created = createdTables.contains(chunk.table());
                    CopyPipe.copy(chunk, source, target, created && chunk.isWholeTable(), progress.counter(name));
                    if (progress.chunkDone(name) && created) {
                        for (String statement : SchemaWriter.afterRows(chunk.table())) {
                            Sql.exec(target, statement);
                        }
                    }
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                }
            }
        }
    }

    private static String seconds(long nanos) {
        return String.format("%.1f", nanos / 1e9);
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // the load's outcome is already decided
        }
    }
}
