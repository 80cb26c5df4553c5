package io.pgmesh.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code --since}: a duration back from now ({@code 90s}, {@code 30m}, {@code 2h}, {@code 7d}, or
 * combined: {@code 1h30m}) or a moment ({@code 2026-05-01T10:00:00Z}, {@code 2026-05-01 10:00:00+02},
 * {@code 2026-05-01}; without an offset it is UTC).
 */
final class SinceOption {
    private static final Pattern DURATION = Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

    private SinceOption() {
    }

    static Instant parse(String value, Instant now) {
        String v = value.strip();
        Matcher m = DURATION.matcher(v);
        if (!v.isEmpty() && m.matches()) {
            Duration d = Duration.ofDays(group(m, 1)).plusHours(group(m, 2)).plusMinutes(group(m, 3))
                    .plusSeconds(group(m, 4));
            return now.minus(d);
        }
        String iso = v.replace(' ', 'T');
        try {
            return OffsetDateTime.parse(iso).toInstant();
        } catch (DateTimeParseException ignored) {
            // not with an offset; try the forms without one
        }
        try {
            return OffsetDateTime.parse(iso.replaceAll("([+-]\\d\\d)$", "$1:00")).toInstant();
        } catch (DateTimeParseException ignored) {
            // not with an hour-only offset either
        }
        try {
            return LocalDateTime.parse(iso).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException ignored) {
            // not a local date-time
        }
        try {
            return LocalDate.parse(iso).atStartOfDay().toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new ExitException(Main.USAGE, "--since: expected a duration such as 30m, 2h or 7d, or a moment such as"
                    + " 2026-05-01T10:00:00Z, got \"" + value + "\"");
        }
    }

    private static long group(Matcher m, int i) {
        return m.group(i) == null ? 0 : Long.parseLong(m.group(i));
    }
}
