package io.pgmesh.task;

import java.util.UUID;

/**
 * This {@code run} process as a task lease names it.
 *
 * @param id          new at every start: a restarted process on the same host and pid is another holder
 * @param process     host and pid, what {@code status} shows
 * @param fingerprint the mesh file's {@link io.pgmesh.config.MeshFingerprint}
 * @param preferred   started with {@code --targets}: placed next to its nodes, it takes their tasks from a
 *                    process that runs everything and stands by
 */
public record LeaseHolder(UUID id, String process, String fingerprint, boolean preferred) {

    public static LeaseHolder of(String fingerprint, boolean preferred) {
        return new LeaseHolder(UUID.randomUUID(), TaskReporter.process(), fingerprint, preferred);
    }

    /** The same holder after a reload that changed the mesh file. */
    public LeaseHolder withFingerprint(String next) {
        return new LeaseHolder(id, process, next, preferred);
    }
}
