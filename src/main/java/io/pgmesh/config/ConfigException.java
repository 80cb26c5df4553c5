package io.pgmesh.config;

import java.util.List;

/**
 * The mesh file cannot be used. Carries every problem found, one line each, in the shape
 * {@code mesh.yaml: nodes[1].port: expected an integer 1..65535, got "abc"}.
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    /** @param problems one line per problem, at least one */
    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    /** Every problem, one line each, in the order found. */
    public List<String> problems() {
        return problems;
    }
}
