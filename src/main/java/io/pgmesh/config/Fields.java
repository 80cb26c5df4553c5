package io.pgmesh.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads typed values out of the maps and lists SnakeYAML produced, reporting every mismatch to
 * {@link Problems} under its key path. Strings get {@code ${VAR}} expanded from the environment;
 * {@code $${} stands for a literal {@code ${}.
 */
final class Fields {

    private static final Pattern VARIABLE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final int MAX_SHOWN = 60;

    private final Problems problems;
    private final Function<String, String> env;

    Fields(Problems problems, Function<String, String> env) {
        this.problems = problems;
        this.env = env;
    }

    Problems problems() {
        return problems;
    }

    /** The key path of {@code key} inside {@code parent}; the top level has the empty path. */
    static String child(String parent, Object key) {
        return parent.isEmpty() ? String.valueOf(key) : parent + "." + key;
    }

    /** Reports every key of {@code map} not in {@code allowed}, in the order of the file. */
    void rejectUnknownKeys(Map<?, ?> map, String path, Set<String> allowed) {
        for (Object key : map.keySet()) {
            if (!(key instanceof String name) || !allowed.contains(name)) {
                problems.add(child(path, key), "unknown key");
            }
        }
    }

    /**
     * The string at {@code path}, expanded; null after reporting a problem. A secret's value is
     * never shown in a message, only its kind.
     */
    String string(Object raw, String path, String expected, boolean secret) {
        if (!(raw instanceof String text)) {
            problems.add(path, "expected " + expected + ", got " + (secret ? kind(raw) : describe(raw)));
            return null;
        }
        return expand(text, path);
    }

    /** {@code text} with every {@code ${VAR}} replaced; null after reporting a problem. */
    String expand(String text, String path) {
        if (text.indexOf('$') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        boolean ok = true;
        int i = 0;
        while (i < text.length()) {
            if (text.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (text.startsWith("${", i)) {
                int end = text.indexOf('}', i + 2);
                if (end < 0) {
                    problems.add(path, "unterminated ${ (write $${ for a literal ${)");
                    return null;
                }
                String name = text.substring(i + 2, end);
                String value = VARIABLE_NAME.matcher(name).matches() ? env.apply(name) : null;
                if (value != null) {
                    out.append(value);
                } else {
                    ok = false;
                    problems.add(path, VARIABLE_NAME.matcher(name).matches()
                            ? "environment variable " + name + " is not set"
                            : "a variable reference must look like ${NAME} with letters, digits and _"
                              + " (write $${ for a literal ${)");
                }
                i = end + 1;
            } else {
                out.append(text.charAt(i++));
            }
        }
        return ok ? out.toString() : null;
    }

    /** A value as shown after "got": strings quoted, numbers and booleans as written, else the kind. */
    static String describe(Object value) {
        if (value instanceof String s) {
            return quote(s);
        }
        if (value instanceof Number || value instanceof Boolean) {
            return String.valueOf(value);
        }
        return kind(value);
    }

    /** What a value is, without showing it: for secrets. */
    static String kind(Object value) {
        if (value == null) {
            return "nothing";
        } else if (value instanceof String) {
            return "a string";
        } else if (value instanceof Boolean) {
            return "a boolean";
        } else if (value instanceof Number) {
            return "a number";
        } else if (value instanceof Map) {
            return "a mapping";
        } else if (value instanceof List) {
            return "a list";
        } else if (value instanceof Set) {
            return "a set";
        } else if (value instanceof Date) {
            return "a timestamp";
        } else if (value instanceof byte[]) {
            return "binary data";
        }
        return "a " + value.getClass().getSimpleName();
    }

    /** {@code s} in double quotes, control characters escaped, cut short if long. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        int shown = 0;
        for (int i = 0; i < s.length(); i++, shown++) {
            if (shown == MAX_SHOWN) {
                out.append("...");
                break;
            }
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    /** Why a file could not be read, in a few words; never any of its content. */
    static String ioReason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        } else if (e instanceof AccessDeniedException) {
            return "permission denied";
        } else if (e instanceof CharacterCodingException) {
            return "not valid UTF-8";
        } else if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
