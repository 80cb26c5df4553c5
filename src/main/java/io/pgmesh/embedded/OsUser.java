package io.pgmesh.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Who we are on the operating system, and how to run PostgreSQL's programs as an unprivileged user
 * when we are root (initdb and postgres refuse to run as root).
 */
final class OsUser {

    /** The unprivileged account used to run PostgreSQL when the JVM runs as root. */
    static final String UNPRIVILEGED_USER = "nobody";

    private static volatile Boolean root;
    private static volatile List<String> dropPrefix;

    private OsUser() {}

    /** True when the effective user of this JVM is root (checked once with {@code id -u}). */
    static boolean isRoot() {
        Boolean r = root;
        if (r == null) {
            synchronized (OsUser.class) {
                r = root;
                if (r == null) {
                    r = detectRoot();
                    root = r;
                }
            }
        }
        return r;
    }

    private static boolean detectRoot() {
        String out = runSmall(List.of("id", "-u"));
        if (out != null) {
            try {
                return Integer.parseInt(out.trim()) == 0;
            } catch (NumberFormatException ignored) {
                // fall back below
            }
        }
        return "root".equals(System.getProperty("user.name"));
    }

    /**
     * The command prefix that runs a program as {@link #UNPRIVILEGED_USER} when we are root, or an
     * empty list when we are not. Prefers {@code runuser}; falls back to {@code setpriv}.
     */
    static List<String> commandPrefix() {
        if (!isRoot()) {
            return List.of();
        }
        List<String> p = dropPrefix;
        if (p == null) {
            synchronized (OsUser.class) {
                p = dropPrefix;
                if (p == null) {
                    p = detectDropPrefix();
                    dropPrefix = p;
                }
            }
        }
        return p;
    }

    private static List<String> detectDropPrefix() {
        String runuser = findExecutable("runuser");
        if (runuser != null) {
            return List.of(runuser, "-u", UNPRIVILEGED_USER, "--");
        }
        String setpriv = findExecutable("setpriv");
        if (setpriv != null) {
            String uid = runSmall(List.of("id", "-u", UNPRIVILEGED_USER));
            String gid = runSmall(List.of("id", "-g", UNPRIVILEGED_USER));
            if (uid != null && gid != null) {
                return List.of(setpriv, "--reuid=" + uid.trim(), "--regid=" + gid.trim(),
                        "--clear-groups", "--");
            }
        }
        throw new IllegalStateException("Running as root, but PostgreSQL refuses to run as root and neither "
                + "'runuser' nor 'setpriv' (util-linux) was found in /usr/sbin, /sbin, /usr/bin, /bin or PATH "
                + "to run it as '" + UNPRIVILEGED_USER + "'. Install util-linux or run as a non-root user.");
    }

    private static String findExecutable(String name) {
        List<String> dirs = new ArrayList<>(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(":")) {
                if (!d.isEmpty()) {
                    dirs.add(d);
                }
            }
        }
        for (String d : dirs) {
            Path candidate = Path.of(d, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return null;
    }

    /** Makes {@code path} owned by the unprivileged user (no-op when not root). */
    static void giveToUnprivileged(Path path) throws IOException {
        if (!isRoot()) {
            return;
        }
        UserPrincipalLookupService lookup = path.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        view.setOwner(lookup.lookupPrincipalByName(UNPRIVILEGED_USER));
    }

    /** Runs a tiny command and returns its stdout, or null on any failure. */
    private static String runSmall(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
