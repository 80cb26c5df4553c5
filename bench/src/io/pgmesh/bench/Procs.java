package io.pgmesh.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/** Process-level measurements: CPU time from /proc, heap from jstat, stacks from jstack. */
final class Procs {
    private static final double TICKS = 100.0; // getconf CLK_TCK on Linux

    private Procs() {
    }

    /** User + system CPU seconds a process has used so far (all its threads), or NaN when unknown. */
    static double cpuSeconds(long pid) {
        if (pid <= 0) {
            return Double.NaN;
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * CPU seconds so far of every process on the machine that is not {@code roots} or a descendant of
     * them: what else ran during a measurement (other engineers' builds, for instance).
     */
    static Map<Long, Double> foreignCpu(java.util.Set<Long> roots) {
        Map<Long, Long> parent = new java.util.HashMap<>();
        Map<Long, Double> cpu = new java.util.HashMap<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long pid = Long.parseLong(p.getFileName().toString());
                    parent.put(pid, Long.parseLong(f[1]));
                    cpu.put(pid, (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS);
                } catch (IOException | RuntimeException e) {
                    // ended meanwhile
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        Map<Long, Double> out = new java.util.HashMap<>();
        for (Map.Entry<Long, Double> e : cpu.entrySet()) {
            long pid = e.getKey();
            boolean ours = false;
            for (int depth = 0; depth < 64 && pid > 1; depth++) {
                if (roots.contains(pid)) {
                    ours = true;
                    break;
                }
                pid = parent.getOrDefault(pid, 0L);
            }
            if (!ours) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /** CPU seconds foreign processes used between two {@link #foreignCpu} readings (ended ones are missed). */
    static double foreignDelta(Map<Long, Double> a, Map<Long, Double> b) {
        double sum = 0;
        for (Map.Entry<Long, Double> e : b.entrySet()) {
            sum += Math.max(0, e.getValue() - a.getOrDefault(e.getKey(), 0.0));
        }
        return sum;
    }

    /** {user, system} CPU seconds of a process, or NaNs. */
    static double[] cpuSplit(long pid) {
        if (pid <= 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new double[] {Long.parseLong(f[11]) / TICKS, Long.parseLong(f[12]) / TICKS};
        } catch (IOException | RuntimeException e) {
            return new double[] {Double.NaN, Double.NaN};
        }
    }

    /** Busy and total jiffies of the whole machine (first line of /proc/stat). */
    static long[] machineTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            long idle = 0;
            for (int i = 1; i < f.length; i++) {
                long v = Long.parseLong(f[i]);
                total += v;
                if (i == 4 || i == 5) { // idle, iowait
                    idle += v;
                }
            }
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** Fraction of all cores busy between two {@link #machineTicks()} readings. */
    static double busy(long[] a, long[] b) {
        long total = b[1] - a[1];
        return total <= 0 ? Double.NaN : (double) (b[0] - a[0]) / total;
    }

    /**
     * CPU seconds per thread of a process, user and system time apart ("name user", "name sys"),
     * threads with the same name (digits folded to #) added up: the JVM names its threads in /proc
     * (first 15 characters).
     */
    static Map<String, Double> threadCpu(long pid) {
        Map<String, Double> out = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", String.valueOf(pid), "task"))) {
            for (Path t : tasks) {
                try {
                    String name = Files.readString(t.resolve("comm")).trim().replaceAll("[0-9]+", "#");
                    String stat = Files.readString(t.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name + " user", Long.parseLong(f[11]) / TICKS, Double::sum);
                    out.merge(name + " sys", Long.parseLong(f[12]) / TICKS, Double::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            // the process ended
        }
        return out;
    }

    static String run(List<String> cmd, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return out;
        } catch (IOException | InterruptedException e) {
            return "failed: " + e;
        }
    }

    /** Starts a JFR recording (settings=profile: Java execution samples every 10 ms) in a running JVM. */
    static String jfrStart(long pid, Path file) {
        return run(List.of(jdkTool("jcmd"), String.valueOf(pid), "JFR.start", "name=bench", "settings=profile",
                "filename=" + file), 30);
    }

    static String jfrStop(long pid) {
        return run(List.of(jdkTool("jcmd"), String.valueOf(pid), "JFR.stop", "name=bench"), 60);
    }

    /** Execution samples of a recording: per sample the thread name and its frames, top first. */
    static List<Map.Entry<String, List<String>>> jfrSamples(Path file) {
        String text = run(List.of(jdkTool("jfr"), "print", "--events", "jdk.ExecutionSample", "--stack-depth", "64",
                file.toString()), 120);
        List<Map.Entry<String, List<String>>> samples = new ArrayList<>();
        String thread = null;
        List<String> frames = null;
        boolean inStack = false;
        for (String raw : text.split("\n")) {
            String line = raw.trim();
            if (line.startsWith("jdk.ExecutionSample")) {
                thread = null;
                frames = new ArrayList<>();
                inStack = false;
            } else if (line.startsWith("sampledThread = ")) {
                int a = line.indexOf('"');
                int b = line.indexOf('"', a + 1);
                thread = a >= 0 && b > a ? line.substring(a + 1, b) : line;
            } else if (line.startsWith("stackTrace = [")) {
                inStack = true;
            } else if (inStack && line.equals("]")) {
                inStack = false;
                if (thread != null && frames != null) {
                    samples.add(Map.entry(thread, frames));
                }
            } else if (inStack && frames != null && !line.equals("...")) {
                frames.add(line.replaceAll(" line: .*$", ""));
            }
        }
        return samples;
    }

    static String jdkTool(String name) {
        Path p = Path.of(System.getProperty("java.home"), "bin", name);
        return Files.isExecutable(p) ? p.toString() : name;
    }

    /** One thread dump of {@code pid}, or an explanation. */
    static String jstack(long pid) {
        try {
            Process p = new ProcessBuilder(jdkTool("jstack"), String.valueOf(pid)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            return out;
        } catch (IOException | InterruptedException e) {
            return "jstack failed: " + e;
        }
    }

    /** The stack of the thread named {@code name} in a thread dump (its "at ..." lines), or empty. */
    static List<String> threadFrames(String dump, String name) {
        List<String> frames = new ArrayList<>();
        boolean in = false;
        for (String line : dump.split("\n")) {
            if (line.startsWith("\"")) {
                in = line.startsWith("\"" + name + "\"");
                continue;
            }
            if (in) {
                String t = line.trim();
                if (t.isEmpty()) {
                    in = false;
                } else if (t.startsWith("at ")) {
                    frames.add(t.substring(3));
                } else if (t.startsWith("java.lang.Thread.State:")) {
                    frames.add("#" + t.substring("java.lang.Thread.State:".length()).trim());
                }
            }
        }
        return frames;
    }

    /**
     * Samples {@code jstat -gc <pid> <interval>}: heap in use is S0U + S1U + EU + OU (KB). Keeps every
     * sample with the time it was read, so a peak can be taken over any window.
     */
    static final class HeapSampler implements AutoCloseable {
        private final Process process;
        private final Thread reader;
        private final List<long[]> samples = Collections.synchronizedList(new ArrayList<>()); // {nanoTime, usedKB, oldKB}
        private volatile String error;

        HeapSampler(long pid, int intervalMillis) throws IOException {
            process = new ProcessBuilder(jdkTool("jstat"), "-gc", String.valueOf(pid), String.valueOf(intervalMillis))
                    .redirectErrorStream(true).start();
            reader = new Thread(this::read, "jstat reader");
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                int s0u = -1, s1u = -1, eu = -1, ou = -1;
                String line;
                while ((line = r.readLine()) != null) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 0 && f[0].equals("S0C")) {
                        List<String> h = List.of(f);
                        s0u = h.indexOf("S0U");
                        s1u = h.indexOf("S1U");
                        eu = h.indexOf("EU");
                        ou = h.indexOf("OU");
                        continue;
                    }
                    if (s0u < 0 || f.length <= ou) {
                        if (!line.isBlank()) {
                            error = line;
                        }
                        continue;
                    }
                    try {
                        double used = Double.parseDouble(f[s0u]) + Double.parseDouble(f[s1u]) + Double.parseDouble(f[eu])
                                + Double.parseDouble(f[ou]);
                        samples.add(new long[] {System.nanoTime(), Math.round(used), Math.round(Double.parseDouble(f[ou]))});
                    } catch (NumberFormatException e) {
                        error = line;
                    }
                }
            } catch (IOException e) {
                error = e.toString();
            }
        }

        int count() {
            return samples.size();
        }

        String error() {
            return error;
        }

        /** The largest heap in use (KB) among samples taken in [from, to] (nanoTime), or -1. */
        long peakKb(long from, long to) {
            return peak(from, to, 1);
        }

        long peakKb() {
            return peakKb(Long.MIN_VALUE, Long.MAX_VALUE);
        }

        /** The largest old generation in use (OU, KB) in [from, to]: what survived young collections. */
        long peakOldKb(long from, long to) {
            return peak(from, to, 2);
        }

        private long peak(long from, long to, int field) {
            long peak = -1;
            synchronized (samples) {
                for (long[] s : samples) {
                    if (s[0] >= from && s[0] <= to) {
                        peak = Math.max(peak, s[field]);
                    }
                }
            }
            return peak;
        }

        @Override
        public void close() {
            process.destroy();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
                reader.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process.destroyForcibly();
        }
    }
}
