package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.task.MeshRunner;
import io.pgmesh.task.Task;
import io.pgmesh.task.TaskState;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * remove-node on a running three-node mesh: what the leaving node wrote up to the moment it
 * leaves reaches the others, its slots and origins go, the run that still has the old file does
 * not bring them back, and the two that stay keep replicating. Bad input changes nothing.
 */
@Timeout(240)
class NodeRemovalIT {

    @Test
    void aNodeLeavesARunningMeshWithEverythingItWroteDelivered(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sqlAll("CREATE TABLE ledger (node text, seq int, PRIMARY KEY (node, seq))");
            Path file = c.writeMeshFile(dir);
            MeshRunner runner = c.startMesh();

            Cli unknown = Cli.run("remove-node", "-c", file.toString(), "south");
            assertEquals(2, unknown.code(), unknown.toString());
            assertTrue(unknown.err().contains("no node named \"south\""), unknown.toString());

            // north writes right up to the removal; every row it committed must reach east and west.
            int written;
            try (Connection conn = c.connect(2);
                 PreparedStatement ps = conn.prepareStatement("INSERT INTO ledger VALUES ('north', ?)")) {
                for (written = 1; written <= 2000; written++) {
                    ps.setInt(1, written);
                    ps.executeUpdate();
                }
            }
            Cli removed = Cli.run("remove-node", "-c", file.toString(), "north");
            assertEquals(0, removed.code(), removed.toString());
            assertTrue(removed.out().contains("north is out of the mesh"), removed.toString());
            for (int n = 0; n < 2; n++) {
                assertEquals(2000, c.count(n, "SELECT count(*) FROM ledger WHERE node = 'north'"),
                        c.name(n) + " holds every row north wrote before it left");
                assertEquals(List.of(), c.queryColumn(n, "SELECT slot_name FROM pg_replication_slots"
                        + " WHERE slot_name LIKE '%north%'"), "no slot toward north is left on " + c.name(n));
                assertEquals(List.of(), c.queryColumn(n, "SELECT roname FROM pg_replication_origin"
                        + " WHERE roname = 'pgmesh_north'"), "north's origin is gone from " + c.name(n));
            }
            assertEquals(0, c.count(2, "SELECT count(*) FROM pg_replication_slots"), "north keeps no slot");

            // The run that still has the old file stops north's tasks for good, naming the next step.
            PgCluster.await(Duration.ofSeconds(30), "north's tasks to fail as removed", () -> runner.tasks().stream()
                    .filter(t -> t.spec().name().contains("north"))
                    .allMatch(t -> t.state() == TaskState.FAILED && t.detail().contains("north was removed from the mesh")));
            Thread.sleep(1500);
            assertEquals(0, c.count(0, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE '%north%'"),
                    "no slot came back");
            c.sql(0, "INSERT INTO ledger VALUES ('east', 1)");
            c.sql(2, "INSERT INTO ledger VALUES ('north', 9999)");
            PgCluster.await(Duration.ofSeconds(30), "east's row on west",
                    () -> c.countOrMinusOne(1, "SELECT count(*) FROM ledger WHERE node = 'east'") == 1);
            Thread.sleep(500);
            assertEquals(0, c.count(0, "SELECT count(*) FROM ledger WHERE seq = 9999"), "north no longer sends");
            for (Task t : runner.tasks()) {
                if (!t.spec().name().contains("north")) {
                    assertEquals(TaskState.STREAMING, t.state(), t.spec().name() + ": " + t.detail());
                }
            }

            // A removed node comes back only by a fresh load, as a new node, while the others write.
            java.nio.file.Files.writeString(file, "initial-load:\n  from: east\n", java.nio.file.StandardOpenOption.APPEND);
            Cli again = Cli.run("init", "-c", file.toString());
            assertEquals(1, again.code(), again.toString());
            assertTrue(again.out().contains("north was removed from the mesh"), again.toString());
            runner.close();
            c.sql(2, "TRUNCATE ledger");
            Cli back = Cli.run("init", "-c", file.toString());
            assertEquals(0, back.code(), back.toString());
            assertTrue(back.out().contains("initial load east -> north done"), back.toString());
            MeshRunner all = c.startMesh(io.pgmesh.config.MeshConfigLoader.load(file));
            c.sql(2, "INSERT INTO ledger VALUES ('north', 10000)");
            c.sql(1, "INSERT INTO ledger VALUES ('west', 1)");
            c.awaitSettled(Duration.ofSeconds(60));
            for (int n = 1; n < 3; n++) {
                assertEquals(c.dump(0, "ledger", "node, seq"), c.dump(n, "ledger", "node, seq"), c.name(n));
            }
            assertEquals(2003, c.count(2, "SELECT count(*) FROM ledger"), "north holds every row once");
            assertEquals(List.of(), PgCluster.notStreaming(all));
        }
    }

    @Test
    void removingFromTwoNodesOrAnUnreachableNodeIsRefusedChangingNothing(@TempDir Path dir) throws Exception {
        try (PgCluster c = PgCluster.start(3)) {
            c.sqlAll("CREATE TABLE t (id int PRIMARY KEY)");
            Path file = c.writeMeshFile(dir);
            c.startMesh().close();
            c.server(2).stop();
            Cli unreachable = Cli.run("remove-node", "-c", file.toString(), "north");
            assertEquals(1, unreachable.code(), unreachable.toString());
            assertTrue(unreachable.out().contains("--force removes it anyway"), unreachable.toString());
            assertEquals(2, c.count(0, "SELECT count(*) FROM pg_replication_slots"), "east kept its slots");

            Cli forced = Cli.run("remove-node", "-c", file.toString(), "north", "--force");
            assertEquals(0, forced.code(), forced.toString());
            assertEquals(1, c.count(0, "SELECT count(*) FROM pg_replication_slots"), "only east->west is left on east");

            Path two = dir.resolve("two.yaml");
            java.nio.file.Files.writeString(two, java.nio.file.Files.readString(file)
                    .replaceAll("(?s)  - name: north.*?sslmode: disable\n", ""));
            Cli alone = Cli.run("remove-node", "-c", two.toString(), "west");
            assertEquals(1, alone.code(), alone.toString());
            assertTrue(alone.out().contains("east alone"), alone.toString());
            assertEquals(1, c.count(1, "SELECT count(*) FROM pg_replication_slots"), "west kept its slot");
        }
    }
}
