package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's first command runs to its end and finds the nodes identical. */
@Timeout(180)
class DemoIT {

    @Test
    void demoReplicatesBothWaysAndEndsWithIdenticalNodes() {
        Cli run = Cli.run("demo", "--seconds", "3");
        int code = run.code();
        String out = run.out();
        System.out.println(run);
        assertEquals(0, code, "demo must exit 0 when the nodes end identical; output:\n" + out);
        assertTrue(out.contains("initial load east -> west done: 2 table(s), 80,000 rows"),
                "demo must show the initial load; output:\n" + out);
        assertTrue(out.contains("All nodes hold the same rows."), "demo must say the nodes match; output:\n" + out);
        assertTrue(out.contains("east->west") && out.contains("west->east"), "demo must show both directions; output:\n" + out);
    }
}
