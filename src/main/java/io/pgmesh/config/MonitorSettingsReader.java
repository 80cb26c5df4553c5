package io.pgmesh.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads {@code http}, {@code health}, {@code slot-safety} and {@code retention} of the mesh file. */
final class MonitorSettingsReader {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h|d)?");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,9})\\s*(B|kB|KB|MB|GB|TB)?", Pattern.CASE_INSENSITIVE);

    private final Fields fields;

    MonitorSettingsReader(Fields fields) {
        this.fields = fields;
    }

    MonitorSettings read(Map<?, ?> top) {
        MonitorSettings d = MonitorSettings.defaults();
        String listen = null;
        Map<?, ?> http = section(top, "http", "listen");
        if (http != null && http.containsKey("listen")) {
            String raw = fields.string(http.get("listen"), "http.listen", "HOST:PORT, such as 127.0.0.1:9187", false);
            if (raw != null) {
                String problem = HttpAddress.problem(raw);
                if (problem != null) {
                    fields.problems().add("http.listen", problem);
                } else {
                    listen = raw;
                }
            }
        }
        Duration maxLatency = d.maxLatency();
        Map<?, ?> health = section(top, "health", "max-latency");
        if (health != null && health.containsKey("max-latency")) {
            Duration v = duration(health.get("max-latency"), "health.max-latency");
            maxLatency = v == null ? maxLatency : v;
        }
        long warnWal = d.warnRetainedWalBytes();
        Map<?, ?> slots = section(top, "slot-safety", "warn-retained-wal");
        if (slots != null && slots.containsKey("warn-retained-wal")) {
            Long v = size(slots.get("warn-retained-wal"), "slot-safety.warn-retained-wal");
            warnWal = v == null ? warnWal : v;
        }
        MonitorSettings.Retention keep = MonitorSettings.Retention.DEFAULT;
        Map<?, ?> retention = section(top, "retention", "conflicts", "apply-errors");
        if (retention != null) {
            Duration conflicts = retention.containsKey("conflicts")
                    ? duration(retention.get("conflicts"), "retention.conflicts") : null;
            Duration errors = retention.containsKey("apply-errors")
                    ? duration(retention.get("apply-errors"), "retention.apply-errors") : null;
            keep = new MonitorSettings.Retention(conflicts == null ? keep.conflicts() : conflicts,
                    errors == null ? keep.applyErrors() : errors);
        }
        return new MonitorSettings(listen, maxLatency, warnWal, keep);
    }

    private Map<?, ?> section(Map<?, ?> top, String key, String... allowed) {
        if (!top.containsKey(key)) {
            return null;
        }
        if (!(top.get(key) instanceof Map<?, ?> map)) {
            fields.problems().add(key, "expected a mapping with the key" + (allowed.length > 1 ? "s " : " ")
                    + String.join(", ", allowed) + ", got " + Fields.describe(top.get(key)));
            return null;
        }
        fields.rejectUnknownKeys(map, key, Set.of(allowed));
        return map;
    }

    /** 60s, 2m, 500ms, 1h, 30d; a bare number is seconds. */
    private Duration duration(Object raw, String path) {
        String text = raw instanceof Integer i ? i + "s" : raw instanceof String s ? fields.expand(s.trim(), path) : null;
        Matcher m = text == null ? null : DURATION.matcher(text);
        if (m == null || !m.matches() || Long.parseLong(m.group(1)) == 0) {
            fields.problems().add(path, "expected a positive duration such as 60s, 5m, 500ms or 30d, got "
                    + Fields.describe(raw));
            return null;
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
        };
    }

    /** 10GB, 512MB, 1TB (powers of 1024); a bare number is bytes. */
    private Long size(Object raw, String path) {
        String text = raw instanceof Integer || raw instanceof Long ? raw.toString()
                : raw instanceof String s ? fields.expand(s.trim(), path) : null;
        Matcher m = text == null ? null : SIZE.matcher(text);
        if (m == null || !m.matches() || Long.parseLong(m.group(1)) == 0) {
            fields.problems().add(path, "expected a positive size such as 10GB or 512MB, got " + Fields.describe(raw));
            return null;
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT)) {
            case "kb" -> 10;
            case "mb" -> 20;
            case "gb" -> 30;
            case "tb" -> 40;
            default -> 0;
        };
        if (n > Long.MAX_VALUE >> shift) {
            fields.problems().add(path, "expected a size below 8 EB, got " + Fields.describe(raw));
            return null;
        }
        return n << shift;
    }
}
