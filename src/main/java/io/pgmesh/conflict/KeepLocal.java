package io.pgmesh.conflict;

/**
 * The local version stays, whatever its age: order-dependent, so two nodes that each keep their
 * own version of a row stay different (pgmesh check warns).
 */
public final class KeepLocal implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        boolean hasLocal = c.type().localRowExists() || c.localVersionKnown();
        return hasLocal ? Resolution.KEEP_LOCAL : Resolution.SKIP;
    }
}
