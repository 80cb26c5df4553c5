package io.pgmesh.bench;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code pgmesh run --http} as a user starts it ({@code java -Xmx256m -jar target/pgmesh.jar}), and
 * the HTTP side the benches read it through.
 */
final class RunProcess {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private RunProcess() {
    }

    /** Starts {@code run -c meshFile --http 127.0.0.1:port}, its output in {@code dir/logName}. */
    static Process start(Path meshFile, int port, Path dir, String logName) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx256m", "-jar", System.getProperty("bench.jar"), "run", "-c",
                meshFile.toString(), "--http", "127.0.0.1:" + port).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static String get(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    /** Until /health answers 200: every task streams. */
    static void awaitHealthy(String base, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("pgmesh run did not become healthy within " + timeout.toSeconds() + " s");
    }

    static int env(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }
}
