package io.pgmesh.cli;

import io.pgmesh.config.MeshConfig;
import io.pgmesh.config.NodeConfig;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which quarantined change a command means: {@code node:id}, the node whose {@code pgmesh.apply_errors}
 * holds it (the target of the change) and its id there, as {@code pgmesh conflicts} prints it. Ids
 * are per node, so the node is part of the name.
 */
record ApplyErrorId(NodeConfig node, long id) {
    private static final Pattern FORM = Pattern.compile("([^:]+):(\\d{1,18})");

    static ApplyErrorId parse(String value, MeshConfig mesh) {
        Matcher m = FORM.matcher(value);
        if (!m.matches()) {
            throw new ExitException(Main.USAGE, "expected an apply error as node:id, such as west:17 (pgmesh conflicts"
                    + " lists them), got \"" + value + "\"");
        }
        try {
            return new ApplyErrorId(mesh.node(m.group(1)), Long.parseLong(m.group(2)));
        } catch (IllegalArgumentException e) {
            throw new ExitException(Main.USAGE, e.getMessage());
        }
    }

    @Override
    public String toString() {
        return node.name() + ":" + id;
    }
}
