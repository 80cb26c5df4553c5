package io.pgmesh.validate;

import java.util.Map;

/**
 * Judges a differing key after replication caught up and the key was read again. A difference
 * counts only when it held still across the catch-up: a change in flight at the first read has
 * arrived by the second and would have moved some node's row.
 */
public final class Recheck {

    public enum Outcome {
        /** Every node now holds the same row: the difference was a change in flight. */
        SETTLED,
        /** Still different, and no node's row moved: a real difference. */
        CONFIRMED,
        /** Still different, but some node's row moved meanwhile: read again. */
        CHANGING
    }

    private Recheck() {
    }

    public static Outcome judge(Map<String, String> before, Map<String, String> after) {
        if (Candidate.allEqual(after)) {
            return Outcome.SETTLED;
        }
        return before.equals(after) ? Outcome.CONFIRMED : Outcome.CHANGING;
    }
}
