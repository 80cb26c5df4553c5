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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node whose slot was lost is rebuilt with resync while another node keeps writing: its own
 * unsent write is kept (and refused without --force), and it ends with every row exactly once.
 */
@Timeout(300)
class ResyncIT {

    /** auto: nearly every row is equal, so north is repaired by key; reload copies every row again. */
    @ParameterizedTest
    @ValueSource(strings = {"auto", "reload"})
    void aNodeThatLostItsSlotIsRebuiltWhileTheOthersWrite(String mode, @TempDir Path dir) throws Exception {
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
            c.sql(0, "UPDATE ledger SET note = 'changed after the loss' WHERE node = 'east' AND seq = 2");
            String untouched = "SELECT xmin::text::bigint FROM ledger WHERE node = 'east' AND seq = 1";
            long versionBefore = c.count(2, untouched);

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
            Cli forced = Cli.run("resync", "-c", file.toString(), "north", "--from", "east", "--force", "--mode", mode);
            assertEquals(0, forced.code(), forced.toString());
            boolean repair = mode.equals("auto");
            assertTrue(forced.out().contains("resync by " + (repair ? "repair" : "reload")), forced.toString());
            if (repair) {
                // The three keys above, and west's rows that east and north had each applied to a different point.
                assertTrue(forced.out().matches("(?s).*north: repaired public\\.ledger: [0-9,]+ of [0-9,]+ rows differed"
                        + " from east's snapshot \\([0-9,]+ inserted, 1 updated, [0-9,]+ deleted\\) in [0-9.]+ s.*"), forced.toString());
            }
            assertEquals(repair, c.count(2, untouched) == versionBefore,
                    "an equal row is " + (repair ? "left as it was by a repair" : "copied again by a reload"));
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
            assertEquals(1, c.count(2, "SELECT count(*) FROM pgmesh.resync_saved WHERE key_values = '{east,2}'"
                    + " AND row_on_node->>'note' = 'x'"), "north's version of a key east changed is kept");
            assertEquals("changed after the loss", c.queryString(2, "SELECT note FROM ledger WHERE node = 'east' AND seq = 2"));
            assertEquals(0, c.count(2, "SELECT count(*) FROM pgmesh.deleted_" + c.queryString(2,
                    "SELECT 'ledger'::regclass::oid") + " WHERE node = 'north' AND seq = 1"),
                    "no tombstone stands on north for its row the resync removed: no node deleted it");
            for (Task t : again.tasks()) {
                assertEquals(TaskState.STREAMING, t.state(), t.spec().name() + ": " + t.detail());
            }
        }
    }

    /**
     * A repair killed half way leaves the node held (its tasks wait) and the snapshot's slot
     * behind; resync again drops that slot, repairs the rest, and the node ends equal to the
     * source with every overwritten row of its own kept once.
     */
    @Test
    void aRepairKilledHalfWayIsRunAgainToTheEnd(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(2)) {
            // An identity column a repair may not set in an UPDATE.
            c.sqlAll("CREATE TABLE ledger (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)");
            Path file = c.writeMeshFile(dir);
            Files.writeString(file, Files.readString(file) + "initial-load:\n  from: east\n");
            MeshRunner runner = c.startMesh();
            c.sql(0, "INSERT INTO ledger OVERRIDING SYSTEM VALUE SELECT g, 'east' FROM generate_series(1, 20000) g");
            c.awaitSettled(Duration.ofSeconds(60));
            runner.close();
            // west writes 3,000 keys nobody else gets: its slot is lost.
            c.sql(1, "UPDATE ledger SET note = 'west only' WHERE id % 20 < 3");
            c.sql(1, "SELECT pg_drop_replication_slot('pgmesh_west_east')");

            Cli badMode = Cli.run("resync", "-c", file.toString(), "west", "--from", "east", "--mode", "fast");
            assertEquals(2, badMode.code(), badMode.toString());
            assertTrue(badMode.err().contains("--mode: expected auto, repair or reload, got fast"), badMode.toString());
            Cli unknown = Cli.run("resync", "-c", file.toString(), "south", "--from", "east");
            assertEquals(2, unknown.code(), unknown.toString());

            PgmeshProcess killed = PgmeshProcess.start(dir, "resync", "-c", file.toString(), "west", "--from", "east",
                    "--mode", "repair");
            PgCluster.await(Duration.ofSeconds(60), "the repair to be under way", () ->
                    c.countOrMinusOne(1, "SELECT count(*) FROM pgmesh.resync_saved") >= 300);
            killed.kill();
            long savedAtKill = c.count(1, "SELECT count(*) FROM pgmesh.resync_saved");
            assertTrue(savedAtKill < 3000, "killed before the end: " + savedAtKill);
            assertEquals("loading", c.queryString(1, "SELECT state FROM pgmesh.initial_load"), "west's tasks are held");

            Cli again = Cli.run("resync", "-c", file.toString(), "west", "--from", "east", "--mode", "repair");
            assertEquals(0, again.code(), again.toString());
            assertTrue(again.out().contains("removed the interrupted initial load from east"), again.toString());
            assertEquals(1, c.count(0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgmesh_east_west'"),
                    "one slot toward west: the killed load's was dropped, the new load's is the task's");
            assertEquals(c.dump(0, "ledger", "id"), c.dump(1, "ledger", "id"));
            assertEquals(3000, c.count(1, "SELECT count(DISTINCT key_values) FROM pgmesh.resync_saved"
                    + " WHERE row_on_node->>'note' = 'west only'"), "every overwritten row of west's is kept");
            assertEquals(3000, c.count(1, "SELECT count(*) FROM pgmesh.resync_saved"), "and each once");

            MeshRunner after = c.startMesh(io.pgmesh.config.MeshConfigLoader.load(file));
            c.sql(0, "INSERT INTO ledger OVERRIDING SYSTEM VALUE VALUES (20001, 'east after')");
            c.sql(1, "INSERT INTO ledger OVERRIDING SYSTEM VALUE VALUES (20002, 'west after')");
            c.awaitSettled(Duration.ofSeconds(60));
            assertEquals(c.dump(0, "ledger", "id"), c.dump(1, "ledger", "id"));
            assertEquals(20002, c.count(1, "SELECT count(*) FROM ledger"));
            after.close();
        }
    }
}
