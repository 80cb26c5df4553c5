package io.pgmesh.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.TreeMap;

/**
 * What a mesh file says about how the mesh replicates, in 12 hex digits: the node names, the
 * tables, the conflict rules and whether schema changes replicate. Two {@code run} processes
 * with different fingerprints would apply the same changes by different rules, so the second one
 * refuses to start. How a node is reached (host, port, user, TLS) is left out on purpose: a
 * process placed next to its node reaches it by another address than a process in another region.
 */
public final class MeshFingerprint {

    private MeshFingerprint() {
    }

    public static String of(MeshConfig mesh) {
        StringBuilder canonical = new StringBuilder();
        canonical.append("nodes=").append(mesh.nodes().stream().map(NodeConfig::name).sorted().toList());
        canonical.append(";include=").append(mesh.tables().include());
        canonical.append(";exclude=").append(mesh.tables().exclude());
        canonical.append(";resolution=").append(mesh.conflicts().resolution());
        canonical.append(";tables=").append(new TreeMap<>(mesh.conflicts().tables()));
        canonical.append(";on-error=").append(mesh.conflicts().onError());
        canonical.append(";ddl=").append(mesh.replicateDdl());
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
