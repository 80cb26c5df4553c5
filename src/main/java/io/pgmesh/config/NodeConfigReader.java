package io.pgmesh.config;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the entries of {@code nodes:} one by one, reporting every problem of each, and noticing
 * names used twice. One reader serves one mesh file.
 */
final class NodeConfigReader {

    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 5432;
    static final String DEFAULT_SSLMODE = "prefer";

    private static final Set<String> KEYS =
            Set.of("name", "host", "port", "database", "user", "password", "password-file", "sslmode", "sslrootcert",
                    "sslcert", "sslkey");
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,15}");
    private static final List<String> SSLMODES =
            List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    /** A password file larger than this is surely the wrong file (or /dev/zero). */
    private static final int MAX_PASSWORD_FILE_BYTES = 64 * 1024;

    private static final Logger log = LoggerFactory.getLogger("pgmesh.config");
    private final Fields fields;
    private final Problems problems;
    private final Path baseDir;
    private final Map<String, String> pathOfName = new HashMap<>();

    /** @param baseDir where relative password-file paths start; null for the working directory */
    NodeConfigReader(Fields fields, Path baseDir) {
        this.fields = fields;
        this.problems = fields.problems();
        this.baseDir = baseDir;
    }

    /** The node at {@code path} (e.g. {@code nodes[1]}), or null after reporting its problems. */
    NodeConfig read(Object raw, String path) {
        if (!(raw instanceof Map<?, ?> map)) {
            problems.add(path, "expected a mapping with the keys name, database, user, ..., got "
                    + Fields.describe(raw));
            return null;
        }
        int before = problems.count();
        fields.rejectUnknownKeys(map, path, KEYS);
        String name = name(map, path);
        String host = string(map, path, "host", "a host name", DEFAULT_HOST);
        int port = port(map, path);
        String database = string(map, path, "database", "a database name", null);
        String user = string(map, path, "user", "a user name", null);
        Secret password = password(map, path);
        String sslmode = sslmode(map, path);
        TlsFiles tls = new TlsFiles(readableFile(map, path, "sslrootcert"), readableFile(map, path, "sslcert"),
                readableFile(map, path, "sslkey"));
        if (problems.count() > before) {
            return null;
        }
        return new NodeConfig(name, host, port, database, user, password, sslmode, tls);
    }

    private String name(Map<?, ?> map, String path) {
        String keyPath = Fields.child(path, "name");
        String name = string(map, path, "name", "a name matching " + NAME.pattern(), null);
        if (name == null) {
            return null;
        }
        if (!NAME.matcher(name).matches()) {
            problems.add(keyPath, "expected a name matching " + NAME.pattern() + ", got " + Fields.quote(name));
            return null;
        }
        String firstPath = pathOfName.putIfAbsent(name, path);
        if (firstPath != null) {
            problems.add(keyPath, "duplicate name " + Fields.quote(name) + ", already used by " + firstPath);
        }
        return name;
    }

    /**
     * A non-empty string under {@code key}: the default when the key is absent, or null after
     * reporting a problem (a required key has a null default).
     */
    private String string(Map<?, ?> map, String path, String key, String expected, String defaultValue) {
        String keyPath = Fields.child(path, key);
        if (!map.containsKey(key)) {
            if (defaultValue == null) {
                problems.add(keyPath, "required key is missing");
            }
            return defaultValue;
        }
        String value = fields.string(map.get(key), keyPath, expected, false);
        if (value != null && value.isEmpty()) {
            problems.add(keyPath, "expected " + expected + ", got \"\"");
            return null;
        }
        return value;
    }

    private int port(Map<?, ?> map, String path) {
        if (!map.containsKey("port")) {
            return DEFAULT_PORT;
        }
        Object raw = map.get("port");
        if (raw instanceof Integer || raw instanceof Long || raw instanceof BigInteger) {
            BigInteger value = new BigInteger(raw.toString());
            if (value.signum() > 0 && value.compareTo(BigInteger.valueOf(65535)) <= 0) {
                return value.intValue();
            }
        }
        problems.add(Fields.child(path, "port"), "expected an integer 1..65535, got " + Fields.describe(raw));
        return 0;
    }

    private String sslmode(Map<?, ?> map, String path) {
        String expected = "one of " + String.join(", ", SSLMODES);
        String mode = string(map, path, "sslmode", expected, DEFAULT_SSLMODE);
        if (mode != null && !SSLMODES.contains(mode)) {
            problems.add(Fields.child(path, "sslmode"), "expected " + expected + ", got " + Fields.quote(mode));
            return null;
        }
        return mode;
    }

    /** An optional file key: its absolute path when the file can be read, null when absent (or reported). */
    private String readableFile(Map<?, ?> map, String path, String key) {
        if (!map.containsKey(key)) {
            return null;
        }
        String keyPath = Fields.child(path, key);
        String name = fields.string(map.get(key), keyPath, "a file path", false);
        if (name == null) {
            return null;
        }
        Path file = (baseDir == null ? Path.of(name) : baseDir.resolve(name)).toAbsolutePath();
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            problems.add(keyPath, "cannot read " + Fields.quote(file.toString())
                    + (Files.exists(file) ? ": not a readable file" : ": no such file"));
            return null;
        }
        return file.toString();
    }

    /** From password or password-file (not both); no message ever shows the password. */
    private Secret password(Map<?, ?> map, String path) {
        boolean inline = map.containsKey("password");
        boolean file = map.containsKey("password-file");
        if (inline && file) {
            problems.add(path, "set either password or password-file, not both");
            return null;
        }
        if (inline) {
            String keyPath = Fields.child(path, "password");
            String password = fields.string(map.get("password"), keyPath, "a string", true);
            if (password != null && password.isEmpty()) {
                problems.add(keyPath, "is empty; leave the key out to connect without a password");
                return null;
            }
            return password == null ? null : Secret.of(password);
        }
        if (file) {
            String keyPath = Fields.child(path, "password-file");
            String name = fields.string(map.get("password-file"), keyPath, "a file path", false);
            return name == null ? null : readPasswordFile(name, keyPath);
        }
        return Secret.NONE;
    }

    private Secret readPasswordFile(String name, String keyPath) {
        Path file = baseDir == null ? Path.of(name) : baseDir.resolve(name);
        String content;
        try {
            if (Files.isDirectory(file)) {
                problems.add(keyPath, "cannot read " + Fields.quote(file.toString()) + ": is a directory");
                return null;
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_PASSWORD_FILE_BYTES + 1);
            }
            if (bytes.length > MAX_PASSWORD_FILE_BYTES) {
                problems.add(keyPath, "cannot read " + Fields.quote(file.toString())
                        + ": larger than 64 KiB, not a password file");
                return null;
            }
            content = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (IOException e) {
            problems.add(keyPath, "cannot read " + Fields.quote(file.toString()) + ": " + Fields.ioReason(e));
            return null;
        }
        warnIfOthersMayRead(file, keyPath);
        String password = stripLineEnd(content);
        if (password.isEmpty()) {
            problems.add(keyPath, Fields.quote(file.toString()) + " is empty");
            return null;
        }
        return Secret.of(password);
    }

    /** As libpq does for .pgpass: a password file others may read is a password others know. */
    private static void warnIfOthersMayRead(Path file, String keyPath) {
        try {
            var perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
                log.warn("{}: {} can be read by group or others; restrict it: chmod 600 {}", keyPath, file, file);
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to compare with
        }
    }

    /** Drops the one line end an editor or {@code echo} leaves at the end of the file. */
    private static String stripLineEnd(String s) {
        if (s.endsWith("\r\n")) {
            return s.substring(0, s.length() - 2);
        }
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
