package io.pgmesh.causal;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.Map;
import java.util.StringJoiner;
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

    /** {@code node=time;node=time}: node names never hold {@code =} or {@code ;}. */
    public String encode() {
        StringJoiner j = new StringJoiner(";");
        through.forEach((node, time) -> j.add(node + "=" + time));
        return j.toString();
    }

    /** The inverse of {@link #encode}; what it cannot read is left out (it only ever costs a false conflict). */
    public static Seen parse(String text) {
        Seen s = NONE;
        if (text == null || text.isEmpty()) {
            return s;
        }
        for (String part : text.split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                try {
                    s = s.with(part.substring(0, eq), Instant.parse(part.substring(eq + 1)));
                } catch (DateTimeParseException ignored) {
                    // knowledge it cannot read is knowledge it does not have
                }
            }
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
