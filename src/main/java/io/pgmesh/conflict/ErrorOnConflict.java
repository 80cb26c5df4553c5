package io.pgmesh.conflict;

/** Every conflict is an unresolvable change: the task's on-error setting stops the task or quarantines the change. */
public final class ErrorOnConflict implements ConflictResolver {

    @Override
    public Resolution resolve(Conflict c) {
        return Resolution.ERROR;
    }
}
