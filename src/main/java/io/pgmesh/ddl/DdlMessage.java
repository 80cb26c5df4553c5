package io.pgmesh.ddl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgmesh.wal.WalMessage.LogicalMessage;
import java.io.IOException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A schema change as its origin's event trigger sent it ({@code capture.sql}): a transactional
 * logical message, so it sits among the origin's rows exactly where the change was made.
 *
 * @param tag        the command tag, e.g. {@code ALTER TABLE}
 * @param object     the first replicated object it touched, e.g. {@code public.orders}
 * @param statement  the client's query string, exactly one statement
 * @param searchPath the origin session's search_path when it ran
 * @param role       the role it ran as: objects it creates are that role's on every node
 * @param skip       why it is not replayed (privileges, extensions), null when it is; such a
 *                   message carries no statement (it may hold a password)
 * @param standardConformingStrings the origin session's setting: how its string literals read
 */
public record DdlMessage(String tag, String object, String statement, String searchPath, String role, String skip,
                         String standardConformingStrings) {
    public static final String PREFIX = "pgmesh_ddl";
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * PostgreSQL runs these only outside a transaction block; leading comments are allowed
     * before them, as psql sends a script's comments with the statement that follows.
     */
    private static final Pattern OUTSIDE_TRANSACTION = Pattern.compile(
            "^(?:\\s+|--[^\\n\\r]*(?:[\\n\\r]|$)|/\\*.*?\\*/)*(?:(?:CREATE\\s+(?:UNIQUE\\s+)?INDEX|DROP\\s+INDEX|REINDEX\\s+\\w+)"
                    + "\\s+CONCURRENTLY\\b|ALTER\\s+TABLE\\b.*\\bDETACH\\s+PARTITION\\b.*\\bCONCURRENTLY\\b)",
            Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    /** The schema change a message carries, if it is one. */
    public static Optional<DdlMessage> parse(LogicalMessage m) {
        if (!m.transactional() || !PREFIX.equals(m.prefix())) {
            return Optional.empty();
        }
        try {
            JsonNode n = JSON.readTree(m.content());
            DdlMessage d = new DdlMessage(text(n, "tag"), text(n, "object"), text(n, "statement"),
                    text(n, "search_path"), text(n, "role"), text(n, "skip"),
                    text(n, "standard_conforming_strings") == null ? "on" : text(n, "standard_conforming_strings"));
            if (d.tag() == null || (d.skip() == null && (d.statement() == null || d.role() == null))) {
                throw new IllegalStateException("a " + PREFIX + " message at " + m.lsn() + " lacks its tag, statement"
                        + " or role: " + new String(m.content(), java.nio.charset.StandardCharsets.UTF_8));
            }
            return Optional.of(d);
        } catch (IOException e) {
            throw new IllegalStateException("a " + PREFIX + " message at " + m.lsn() + " is not valid JSON", e);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    /** {@code CREATE INDEX CONCURRENTLY} and its kin: replayed outside the apply transaction. */
    public boolean outsideTransaction() {
        return statement != null && isOutsideTransaction(statement);
    }

    /** True when PostgreSQL runs {@code sql} only outside a transaction block. */
    public static boolean isOutsideTransaction(String sql) {
        return OUTSIDE_TRANSACTION.matcher(sql).find();
    }

    /** "ALTER TABLE public.orders: alter table orders add column qty int": the statement in one line. */
    public String describe() {
        if (statement == null) {
            return tag + (object == null ? "" : " " + object);
        }
        String oneLine = statement.strip().replaceAll("\\s+", " ");
        return tag + (object == null ? "" : " " + object) + ": \"" + (oneLine.length() > 200 ? oneLine.substring(0, 200) + "…" : oneLine) + "\"";
    }
}
