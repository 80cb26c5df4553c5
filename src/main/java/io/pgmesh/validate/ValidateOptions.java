package io.pgmesh.validate;

import java.time.Duration;

/**
 * How {@link Validator} compares a mesh.
 *
 * @param catchUpTimeout how long to wait, each time, for every task to apply what its source had
 * @param shownPerTable  how many differing keys to name per table
 * @param recheckRounds  how many times a differing key is read again after a catch-up before it
 *                       is called busy (still changing) instead of judged
 */
public record ValidateOptions(Duration catchUpTimeout, int shownPerTable, int recheckRounds) {

    public ValidateOptions {
        if (catchUpTimeout.isNegative() || shownPerTable < 1 || recheckRounds < 1) {
            throw new IllegalArgumentException("catchUpTimeout >= 0, shownPerTable >= 1 and recheckRounds >= 1");
        }
    }

    public static ValidateOptions defaults() {
        return new ValidateOptions(Duration.ofSeconds(60), 20, 3);
    }

    public ValidateOptions withCatchUpTimeout(Duration timeout) {
        return new ValidateOptions(timeout, shownPerTable, recheckRounds);
    }
}
