package io.pgmesh.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * pgmesh as a user runs it: {@code java -cp <cp> io.pgmesh.cli.Main <args>} in a JVM of its own,
 * with stdout and stderr in files under a test's directory. Signals are the user's too:
 * {@link #kill()} is SIGKILL, {@link #terminate()} SIGTERM.
 *
 * <p>The child uses the test JVM's class path ({@code target/classes} and the dependencies; under
 * surefire a manifest-only jar whose Class-Path the child follows), so it runs the code
 * {@code mvn test} just compiled. Processes still alive when the test JVM exits are
 * killed by a shutdown hook: no pgmesh outlives its test.
 */
public final class PgmeshProcess implements AutoCloseable {
    public static final String MAIN = "io.pgmesh.cli.Main";
    /** Every child gets a small fixed heap unless a test says otherwise: pgmesh promises bounded memory. */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of("-Xmx256m");

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final int TAIL_LINES = 40;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "pgmesh process reaper"));
    }

    private final Process process;
    private final String label;
    private final Path stdout;
    private final Path stderr;

    private PgmeshProcess(Process process, String label, Path stdout, Path stderr) {
        this.process = process;
        this.label = label;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Starts {@code pgmesh <args>} with the default JVM options and the test JVM's environment. */
    public static PgmeshProcess start(Path dir, String... args) throws IOException {
        return start(dir, DEFAULT_JVM_OPTIONS, Map.of(), args);
    }

    /**
     * Starts {@code pgmesh <args>}.
     *
     * @param dir        where the output files go ({@code pgmesh-<n>-<command>.out/.err})
     * @param jvmOptions e.g. {@code -Xmx256m}
     * @param env        variables added to the test JVM's environment (e.g. a password for {@code ${VAR}})
     */
    public static PgmeshProcess start(Path dir, List<String> jvmOptions, Map<String, String> env, String... args)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN);
        cmd.addAll(Arrays.asList(args));
        String name = "pgmesh-" + SEQUENCE.incrementAndGet() + (args.length > 0 ? "-" + args[0] : "");
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        LIVE.add(p);
        p.onExit().thenRun(() -> LIVE.remove(p));
        return new PgmeshProcess(p, name + " (pid " + p.pid() + ", pgmesh " + String.join(" ", args) + ")", out, err);
    }

    /** Runs {@code pgmesh <args>} to its end; fails the test if it takes longer than {@code timeout}. */
    public static PgmeshProcess run(Path dir, Duration timeout, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        PgmeshProcess p = start(dir, DEFAULT_JVM_OPTIONS, env, args);
        p.waitFor(timeout);
        return p;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, as {@code kill -9}: no shutdown of any kind. Waits until the process is gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError(label + " survived SIGKILL for 30 s");
        }
    }

    /** SIGSTOP: the process freezes (a stalled VM, a debugger, a swap storm) with every socket open. */
    public void freeze() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT: a frozen process runs on from where it stopped. */
    public void thaw() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
    }

    /** SIGINT, as Ctrl-C on a terminal; returns at once (see {@link #waitFor}). */
    public void interrupt() throws IOException, InterruptedException {
        signal("INT");
    }

    /** SIGTERM, as {@code kill} or a service manager's stop; returns at once (see {@link #waitFor}). */
    public void terminate() {
        process.destroy();
    }

    /** Waits for the process to end and returns its exit code; fails the test with the output's tail if it does not. */
    public int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError(label + " did not exit within " + timeout.toSeconds() + " s\n" + tail());
        }
        return process.exitValue();
    }

    /** The exit code of a process that has ended. */
    public int exitCode() {
        return process.exitValue();
    }

    public String stdout() {
        return read(stdout);
    }

    public String stderr() {
        return read(stderr);
    }

    /** Everything the process printed: stdout, then stderr (pgmesh logs to stderr). */
    public String output() {
        return stdout() + stderr();
    }

    /** The last lines of stdout and stderr with the files' paths: for assertion messages. */
    public String tail() {
        return "--- " + label + ": last lines of " + stdout + " ---\n" + lastLines(stdout())
                + "--- last lines of " + stderr + " ---\n" + lastLines(stderr());
    }

    /** Waits until the output holds {@code text}. */
    public void awaitOutput(String text, Duration timeout) throws InterruptedException {
        awaitOutput("\"" + text + "\" in the output", out -> out.contains(text), timeout);
    }

    /**
     * Waits until the output satisfies {@code condition} (pgmesh's log is the event); fails with the
     * output's tail when it does not in time or when the process ends first.
     */
    public void awaitOutput(String what, Predicate<String> condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.test(output())) {
            if (!process.isAlive() && !condition.test(output())) {
                throw new AssertionError(label + " exited with " + process.exitValue() + " before " + what
                        + "\n" + tail());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what
                        + "\n" + tail());
            }
            Thread.sleep(20);
        }
    }

    /**
     * Waits until each of {@code tasks} (e.g. {@code east->west}) logs that it streams: its slot
     * exists from then on, so a change committed afterwards is sure to travel. (A change committed
     * before the slot exists never does, yet a wait on the slot's position would pass.)
     */
    public PgmeshProcess awaitStreaming(Duration timeout, String... tasks) throws InterruptedException {
        awaitOutput("tasks " + String.join(", ", tasks) + " streaming", out -> {
            for (String task : tasks) {
                if (!out.contains("task " + task + ": streaming from")) {
                    return false;
                }
            }
            return true;
        }, timeout);
        return this;
    }

    /** A wait or check that may fail. */
    @FunctionalInterface
    public interface Check {
        void run() throws Exception;
    }

    /**
     * Runs {@code check}; when it fails with an assertion (a timed-out wait, a wrong value), the
     * failure is rethrown with the tail of this process's output, which usually says why.
     */
    public void explainFailure(Check check) throws Exception {
        try {
            check.run();
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + tail(), e);
        }
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    @Override
    public String toString() {
        return label;
    }

    private static String read(Path file) {
        try {
            // Decoding replaces a character cut in half by a concurrent write instead of throwing.
            return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String lastLines(String text) {
        String[] lines = text.split("\n", -1);
        int from = Math.max(0, lines.length - TAIL_LINES - 1);
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < lines.length; i++) {
            if (!lines[i].isEmpty() || i < lines.length - 1) {
                sb.append(lines[i]).append('\n');
            }
        }
        return sb.toString();
    }
}
