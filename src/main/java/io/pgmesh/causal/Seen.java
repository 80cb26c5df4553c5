package io.pgmesh.causal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a node had applied when it made a change: per origin node, the commit time (on that
 * node's own clock) of the last of its transactions applied. A local version of a row written by
 * origin {@code o} at {@code t} was seen by the change's node when {@code t} is at or before what
 * it had applied from {@code o}; the change is then causally later, not concurrent, whatever the
 * two clocks say, because both times come from {@code o}'s clock.
 *
 * <p>Immutable: each received transaction keeps the knowledge that held when it was made.
 */
public final class Seen {
    public static final Seen NONE = new Seen(Map.of());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Instant> through;

    private Seen(Map<String, Instant> through) {
        this.through = through;
    }

    /** This knowledge, with {@code node}'s transactions through {@code time} applied; never moves back. */
    public Seen with(String node, Instant time) {
        Instant old = through.get(node);
        if (time == null || old != null && !time.isAfter(old)) {
            return this;
        }
        Map<String, Instant> next = new TreeMap<>(through);
        next.put(node, time);
        return new Seen(Collections.unmodifiableMap(next));
    }

    /** Both pieces of knowledge together: the later time of each node. */
    public Seen merge(Seen other) {
        Seen s = this;
        for (Map.Entry<String, Instant> e : other.through.entrySet()) {
            s = s.with(e.getKey(), e.getValue());
        }
        return s;
    }

    /** True when the version {@code node} wrote at {@code commitTime} had been applied. */
    public boolean saw(String node, Instant commitTime) {
        Instant t = node == null ? null : through.get(node);
        return t != null && commitTime != null && !commitTime.isAfter(t);
    }

    public Map<String, Instant> asMap() {
        return through;
    }

    /** A JSON object, node name to time, as {@code pgmesh.task_progress.seen} and the history keep it. */
    public String encode() {
        ObjectNode o = JSON.createObjectNode();
        through.forEach((node, time) -> o.put(node, time.toString()));
        return o.toString();
    }

    /**
     * The inverse of {@link #encode}; what it cannot read is left out. Knowledge it cannot read is
     * knowledge it does not have: at worst a change counts as concurrent and goes to the table's rule.
     */
    public static Seen parse(String json) {
        Seen s = NONE;
        if (json == null || json.isBlank()) {
            return s;
        }
        try {
            JsonNode o = JSON.readTree(json);
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                try {
                    s = s.with(e.getKey(), Instant.parse(e.getValue().asText()));
                } catch (DateTimeParseException ignored) {
                    // left out, see above
                }
            }
        } catch (JsonProcessingException ignored) {
            // left out, see above
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Seen s && s.through.equals(through);
    }

    @Override
    public int hashCode() {
        return through.hashCode();
    }

    @Override
    public String toString() {
        return encode();
    }
}
