package io.pgmesh.pg;

import java.util.Locale;

/** Byte counts as messages show them: kB below a MB, then MB, then GB, with a dot in every locale. */
public final class Sizes {
    private Sizes() {
    }

    public static String human(long bytes) {
        if (bytes < 1024 * 1024) {
            return bytes / 1024 + " kB";
        }
        if (bytes < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
        }
        return String.format(Locale.ROOT, "%.1f GB", bytes / (double) (1L << 30));
    }
}
