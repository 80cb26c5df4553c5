package io.pgmesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshFingerprintTest {

    private static MeshConfig mesh(String eastHost, List<String> include, ConflictSettings conflicts) {
        return new MeshConfig(List.of(
                new NodeConfig("east", eastHost, 5432, "app", "pgmesh", Secret.of("s3cret"), "prefer"),
                new NodeConfig("west", "west.db", 5432, "app", "pgmesh", Secret.of("other"), "prefer")),
                new TableSelection(include, List.of()), null, conflicts);
    }

    @Test
    void howANodeIsReachedDoesNotCount() {
        assertEquals(MeshFingerprint.of(mesh("10.0.0.5", List.of("public.*"), ConflictSettings.defaults())),
                MeshFingerprint.of(mesh("east.db", List.of("public.*"), ConflictSettings.defaults())));
    }

    @Test
    void whatReplicatesAndHowConflictsEndDoes() {
        String base = MeshFingerprint.of(mesh("east.db", List.of("public.*"), ConflictSettings.defaults()));
        assertNotEquals(base, MeshFingerprint.of(mesh("east.db", List.of("app.*"), ConflictSettings.defaults())));
        ConflictSettings keepLocal = new ConflictSettings(ConflictSettings.Rule.KEEP_LOCAL, Map.of(),
                ConflictSettings.defaults().onError());
        assertNotEquals(base, MeshFingerprint.of(mesh("east.db", List.of("public.*"), keepLocal)));
        assertEquals(12, base.length());
    }
}
