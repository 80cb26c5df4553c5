package io.pgmesh.config;

import java.util.Objects;

/**
 * A secret string, such as a node's password, that never shows itself by accident.
 *
 * <p>{@link #toString()} prints {@code ****} (or {@code (none)} for {@link #NONE}); only
 * {@link #reveal()} hands out the value, so every place that uses it is easy to find.
 */
public final class Secret {

    /** No secret: the node connects without a password (trust, peer, .pgpass, certificates). */
    public static final Secret NONE = new Secret(null);

    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    /** A present secret holding {@code value}, which must not be null. */
    public static Secret of(String value) {
        return new Secret(Objects.requireNonNull(value, "value"));
    }

    /** True unless this is {@link #NONE}. */
    public boolean isPresent() {
        return value != null;
    }

    /**
     * The secret itself.
     *
     * @throws IllegalStateException for {@link #NONE}: check {@link #isPresent()} first
     */
    public String reveal() {
        if (value == null) {
            throw new IllegalStateException("no secret to reveal: check isPresent() first");
        }
        return value;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Secret s && Objects.equals(value, s.value);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(value);
    }

    /** {@code ****} or {@code (none)}; never the value. */
    @Override
    public String toString() {
        return value == null ? "(none)" : "****";
    }
}
