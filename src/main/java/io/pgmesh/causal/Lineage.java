package io.pgmesh.causal;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.nio.charset.StandardCharsets;

/**
 * The versions a row's version descends from, oldest first, ending with the version itself: what
 * first-update-wins needs to decide two concurrent versions alike on every node. Both descend
 * from a last common version; the branch whose first version after it is older wins, and with it
 * every later version of that branch. A row's own commit record cannot say where its branch
 * began: a node that changed the row twice compares a concurrent change with its second version,
 * while the other node compared it with the first.
 *
 * <p>Kept per row of a first-update-wins table ({@code pgmesh.lineage_<oid>}, written by a trigger
 * for local writes and by the apply for applied ones) as text: {@code node@microseconds} tokens,
 * the last 256 versions before the row's own, and a leading {@code ?} when what came before is not
 * known (cut off, or written by a session that keeps no lineage). Where no common version is
 * found and a lineage is not known back to its start, {@link #fork} has no answer and the
 * versions' own commit times decide, as without lineage.
 */
public final class Lineage {
    /** One version of a row: the node that wrote it and its commit time on that node's clock. */
    public record Version(String node, Instant time) {
        static Optional<Version> parse(String token) {
            int at = token.lastIndexOf('@');
            if (at <= 0) {
                return Optional.empty();
            }
            try {
                long micros = Long.parseLong(token.substring(at + 1));
                return Optional.of(new Version(token.substring(0, at), Instant.EPOCH.plus(micros, ChronoUnit.MICROS)));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }

        @Override
        public String toString() {
            return node + "@" + ChronoUnit.MICROS.between(Instant.EPOCH, time);
        }
    }

    /** Where two concurrent versions' branches began: the first version after their last common one, on each side. */
    public record Fork(Version local, Version remote) implements Order {
    }

    /** The prefix of the transactional message the lineage trigger sends just before its row change. */
    public static final String MESSAGE_PREFIX = "pgmesh.lineage";

    /**
     * The lineages sent along with a row change of {@code table} ({@code schema.table}): that of the
     * version it writes, and for a change of key that of its delete of the old key (null otherwise).
     */
    public record Message(String table, String ancestors, String oldKeyAncestors) {
        /** What a change of a table that keeps lineages came with when nothing did. */
        public static Message unknown(String table) {
            return new Message(table, "?", "?");
        }

        public static Optional<Message> parse(LogicalMessage m) {
            if (!m.transactional() || !MESSAGE_PREFIX.equals(m.prefix())) {
                return Optional.empty();
            }
            String[] lines = new String(m.content(), StandardCharsets.UTF_8).split("\n", -1);
            if (lines.length < 2) {
                return Optional.empty();
            }
            return Optional.of(new Message(lines[0], lines[1], lines.length > 2 ? lines[2] : null));
        }
    }

    /** A row whose history pgmesh does not know. */
    public static final Lineage UNKNOWN = new Lineage(List.of(), false);
    /** A row with no history: it was there before any lineage was kept, alike on every node. */
    public static final Lineage ROOT = new Lineage(List.of(), true);

    private final List<Version> versions;
    private final boolean fromStart;

    private Lineage(List<Version> versions, boolean fromStart) {
        this.versions = versions;
        this.fromStart = fromStart;
    }

    /** The stored form; what it cannot read makes the lineage unknown before that point. */
    public static Lineage parse(String text) {
        if (text == null) {
            return UNKNOWN;
        }
        boolean fromStart = true;
        List<Version> versions = new ArrayList<>();
        for (String token : text.trim().split(" ")) {
            if (token.isEmpty()) {
                continue;
            }
            Optional<Version> v = Version.parse(token);
            if (v.isEmpty()) {
                fromStart = false;
                versions.clear();
            } else {
                versions.add(v.get());
            }
        }
        return new Lineage(Collections.unmodifiableList(versions), fromStart);
    }

    /** This lineage followed by {@code v}: the lineage of a version that replaced the last one. */
    public Lineage then(Version v) {
        List<Version> next = new ArrayList<>(versions);
        next.add(v);
        return new Lineage(Collections.unmodifiableList(next), fromStart);
    }

    public List<Version> versions() {
        return versions;
    }

    /**
     * How a local version and a remote one stand, each lineage ending with its own version: one
     * descends from the other (it was made after it), or where their branches began, or unknown
     * (no common version in view, and one of them not known back to its start).
     */
    public sealed interface Order permits LocalDescends, RemoteDescends, Fork, Unknown {
    }

    /** The local version was made over the remote one (or over a version made over it). */
    public record LocalDescends() implements Order {
    }

    /** The remote version was made over the local one (or over a version made over it). */
    public record RemoteDescends() implements Order {
    }

    /** The lineages cannot tell. */
    public record Unknown() implements Order {
    }

    public static Order order(Lineage local, Lineage remote) {
        Map<Version, Integer> inRemote = new HashMap<>();
        for (int j = 0; j < remote.versions.size(); j++) {
            inRemote.put(remote.versions.get(j), j);
        }
        for (int i = local.versions.size() - 1; i >= 0; i--) {
            Integer j = inRemote.get(local.versions.get(i));
            if (j != null) {
                if (j + 1 == remote.versions.size()) {
                    return new LocalDescends();
                }
                if (i + 1 == local.versions.size()) {
                    return new RemoteDescends();
                }
                return new Fork(local.versions.get(i + 1), remote.versions.get(j + 1));
            }
        }
        if (local.fromStart && remote.fromStart && !local.versions.isEmpty() && !remote.versions.isEmpty()) {
            return new Fork(local.versions.get(0), remote.versions.get(0));
        }
        return new Unknown();
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(fromStart ? "" : "? ");
        versions.forEach(v -> s.append(v).append(' '));
        return s.toString().trim();
    }
}
