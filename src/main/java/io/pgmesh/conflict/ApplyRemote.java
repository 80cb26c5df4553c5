package io.pgmesh.conflict;

/**
 * The remote change is applied, whatever its age: an UPDATE of a missing row writes the row,
 * a DELETE removes it. Order-dependent: two nodes that each apply the other's version of a row
 * swap values and stay different (pgmesh check warns).
 */
public final class ApplyRemote implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        return Resolution.APPLY_REMOTE;
    }
}
