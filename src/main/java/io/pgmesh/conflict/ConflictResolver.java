package io.pgmesh.conflict;

/** A pure rule that decides a conflict. Every node must reach the same decision for the same pair of changes. */
@FunctionalInterface
public interface ConflictResolver {
    Resolution resolve(Conflict conflict);
}
