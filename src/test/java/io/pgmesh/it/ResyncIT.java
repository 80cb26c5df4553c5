package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node whose slot was lost is rebuilt with resync while another node keeps writing: its own
 * unsent write is kept (and refused without --force), and it ends with every row exactly once.
 */
@Timeout(300)
class ResyncIT {

    @Test
    void aNodeThatLostItsSlotIsRebuiltWhileTheOthersWrite(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sqlAll("CREATE TABLE ledger (node text, seq int, note text, PRIMARY KEY (node, seq))");
            Path file = c.writeMeshFile(dir);
            Files.writeString(file, Files.readString(file) + "initial-load:\n  from: east\n");
            MeshRunner runner = c.startMesh();
            c.sql(0, "INSERT INTO ledger SELECT 'east', g, 'x' FROM generate_series(1, 5000) g");
            c.awaitSettled(Duration.ofSeconds(60));
            runner.close();
            // north writes while nothing replicates, then loses its slots (all three that touch it):
            // east's later changes can never reach it that way, and nobody will get north's write.
            c.sql(2, "INSERT INTO ledger VALUES ('north', 1, 'only here')");
            c.sql(0, "SELECT pg_drop_replication_slot('pgmesh_east_north')");
            c.sql(2, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots");
            c.sql(0, "INSERT INTO ledger VALUES ('east', 5001, 'after the loss')");

            Cli refused = Cli.run("resync", "-c", file.toString(), "north", "--from", "east");
            assertEquals(1, refused.code(), refused.toString());
            assertTrue(refused.out().contains("(node, seq)=(north, 1) exists only here"), refused.toString());
            assertTrue(refused.out().contains("(node, seq)=(east, 5001) is missing (east has it)"), refused.toString());
            assertTrue(refused.out().contains("--force resyncs anyway"), refused.toString());
            assertEquals(1, c.count(2, "SELECT count(*) FROM ledger WHERE node = 'north'"), "nothing was changed");
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmesh_west_north'"),
                    "west kept its slot toward north");

            runner = c.track(new MeshRunner(io.pgmesh.config.MeshConfigLoader.load(file), PgCluster.testRetry()));
            runner.start();
            MeshRunner first = runner;
            PgCluster.await(Duration.ofSeconds(30), "east->north to fail as lost", () -> first.tasks().stream()
                    .anyMatch(t -> t.spec().name().equals("east->north") && t.state() == TaskState.FAILED
                            && t.detail().contains("needs a resync")));

            // west writes during the whole resync; every row must reach north exactly once.
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicInteger written = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try (Connection conn = c.connect(1);
                     PreparedStatement ps = conn.prepareStatement("INSERT INTO ledger VALUES ('west', ?, 'w')")) {
                    while (writing.get()) {
                        ps.setInt(1, written.incrementAndGet());
                        ps.executeUpdate();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            writer.start();
            Thread.sleep(500);
            Cli forced = Cli.run("resync", "-c", file.toString(), "north", "--from", "east", "--force");
            assertEquals(0, forced.code(), forced.toString());
            assertTrue(forced.out().contains("initial load east -> north done"), forced.toString());
            assertTrue(forced.out().contains("the changes of [west] that east has not applied yet follow"), forced.toString());
            // The failed task ended for good in the old process: a restart (or SIGHUP) takes the mesh up again.
            runner.close();
            MeshRunner again = c.startMesh(io.pgmesh.config.MeshConfigLoader.load(file));
            Thread.sleep(1000);
            writing.set(false);
            writer.join();
            assertEquals(null, failure.get());
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 1; n < 3; n++) {
                assertEquals(c.dump(0, "ledger", "node, seq"), c.dump(n, "ledger", "node, seq"), c.name(n));
            }
            assertEquals(5001 + written.get(), c.count(2, "SELECT count(*) FROM ledger"), "every row once on north");
            assertEquals(1, c.count(2, "SELECT count(*) FROM pgmesh.resync_saved WHERE key_values = '{north,1}'"
                    + " AND row_on_node->>'note' = 'only here'"), "north's write nobody else had is kept");
            assertEquals(1, c.count(2, "SELECT count(*) FROM pgmesh.resync_saved WHERE key_values = '{east,5001}'"
                    + " AND row_on_node IS NULL"), "what north lacked is recorded with the resync");
            for (Task t : again.tasks()) {
                assertEquals(TaskState.STREAMING, t.state(), t.spec().name() + ": " + t.detail());
            }
        }
    }
}
