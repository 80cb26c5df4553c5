package io.pgmesh.validate;

import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A key whose rows differed between nodes when read once: not yet a difference, because a change
 * may have been in flight.
 *
 * @param key    the key as the first node that held it streamed it (parts and text)
 * @param images per node, in mesh order, the row image read (null: no such row)
 */
public record Candidate(RowEntry key, Map<String, String> images) {

    public Candidate {
        images = Collections.unmodifiableMap(new LinkedHashMap<>(images));
    }

    /** True when every node holds the same image (absent counts as an image too). */
    public static boolean allEqual(Map<String, String> images) {
        return new HashSet<>(images.values()).size() <= 1;
    }
}
