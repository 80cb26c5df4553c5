package io.pgmesh.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the problems of one mesh file, each as a line {@code <file>: <key path>: <what>}, so
 * that the user sees all of them at once instead of fixing one per run.
 */
final class Problems {

    private final String source;
    private final List<String> lines = new ArrayList<>();

    /** @param source the file's name as shown to the user, e.g. {@code mesh.yaml} */
    Problems(String source) {
        this.source = source;
    }

    /** Records a problem of the value at {@code path}; an empty path means the whole file. */
    void add(String path, String what) {
        lines.add(path.isEmpty() ? source + ": " + what : source + ": " + path + ": " + what);
    }

    int count() {
        return lines.size();
    }

    void throwIfAny() throws ConfigException {
        if (!lines.isEmpty()) {
            throw new ConfigException(lines);
        }
    }
}
