package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgmesh.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's first command runs to its end and finds the nodes identical. */
@Timeout(180)
class DemoIT {

    @Test
    void demoReplicatesBothWaysAndEndsWithIdenticalNodes() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.execute("demo", "--seconds", "3");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.println(out);
        assertEquals(0, code, "demo must exit 0 when the nodes end identical; output:\n" + out);
        assertTrue(out.contains("initial load east -> west done: 2 table(s), 80,000 rows"),
                "demo must show the initial load; output:\n" + out);
        assertTrue(out.contains("All nodes hold the same rows."), "demo must say the nodes match; output:\n" + out);
        assertTrue(out.contains("east->west") && out.contains("west->east"), "demo must show both directions; output:\n" + out);
    }
}
