package io.pgmesh.topology;

import io.pgmesh.config.NodeConfig;

/** One direction of replication: changes committed on {@code source} are applied on {@code target}. */
public record TaskSpec(NodeConfig source, NodeConfig target) {

    public String name() {
        return source.name() + "->" + target.name();
    }

    public String slotName() {
        return Names.slot(source.name(), target.name());
    }

    public String originName() {
        return Names.origin(source.name());
    }

    @Override
    public String toString() {
        return name();
    }
}
