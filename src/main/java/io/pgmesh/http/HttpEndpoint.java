package io.pgmesh.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.pgmesh.config.HttpAddress;
import io.pgmesh.config.MonitorSettings;
import io.pgmesh.metrics.MeshMetrics;
import io.pgmesh.metrics.TaskView;
import io.pgmesh.monitor.StatusPoller;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read-only HTTP side of {@code run --http}: /metrics (Prometheus text), /health (200 or
 * 503, JSON), /api/status (JSON) and the dashboard at /. Every answer comes from memory (counters
 * and the poller's last reading), so none waits on a node. The JDK's own server: four endpoints
 * need no framework. Nothing served carries a password: the status document never holds one.
 */
public final class HttpEndpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("pgmesh.http");
    private static final Map<String, String> ASSETS = Map.of(
            "/", "dashboard/index.html",
            "/dashboard.js", "dashboard/dashboard.js",
            "/dashboard.css", "dashboard/dashboard.css");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8");

    /** The address could not be listened on: the message names it and why. */
    public static final class ListenException extends Exception {
        ListenException(String message) {
            super(message);
        }
    }

    /** Enough for a scraper, a dashboard and a health probe at once; every answer is from memory. */
    private static final int THREADS = 4;
    private final HttpServer server;
    private final ExecutorService pool;
    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final MeshMetrics metrics;
    private final Supplier<List<TaskView>> tasks;
    private final StatusPoller status;
    private final Supplier<MonitorSettings> settings;
    private final Duration staleAfter;
    private final String process;
    private volatile int lastMetricsSize = 64 * 1024;

    private HttpEndpoint(HttpServer server, MeshMetrics metrics, Supplier<List<TaskView>> tasks, StatusPoller status,
                         Supplier<MonitorSettings> settings, Duration staleAfter, String process) {
        this.server = server;
        this.metrics = metrics;
        this.tasks = tasks;
        this.status = status;
        this.settings = settings;
        this.staleAfter = staleAfter;
        this.process = process;
        this.pool = Executors.newFixedThreadPool(THREADS, r -> {
            Thread th = new Thread(r, "pgmesh http");
            th.setDaemon(true);
            return th;
        });
        server.setExecutor(pool);
        server.createContext("/", this::handle);
    }

    /**
     * Listens on {@code listen} (HOST:PORT) and serves until closed.
     *
     * @throws ListenException when the address is invalid, unknown or taken
     */
    public static HttpEndpoint start(String listen, MeshMetrics metrics, Supplier<List<TaskView>> tasks,
                                     StatusPoller status, Supplier<MonitorSettings> settings, Duration staleAfter,
                                     String process) throws ListenException {
        String problem = HttpAddress.problem(listen);
        if (problem != null) {
            throw new ListenException(problem);
        }
        InetSocketAddress unresolved = HttpAddress.parse(listen);
        InetSocketAddress address = new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
        if (address.isUnresolved()) {
            throw new ListenException("host " + unresolved.getHostString() + " is unknown");
        }
        // A client that sends half a request, or reads no answer, must not hold a thread for long:
        // the JDK server's own limits (seconds), read when the first server is created.
        System.setProperty("sun.net.httpserver.maxReqTime", System.getProperty("sun.net.httpserver.maxReqTime", "10"));
        System.setProperty("sun.net.httpserver.maxRspTime", System.getProperty("sun.net.httpserver.maxRspTime", "30"));
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (BindException e) {
            throw new ListenException("cannot listen there (" + e.getMessage() + "): the port is taken by another"
                    + " program, or the address is not one of this machine's");
        } catch (IOException e) {
            throw new ListenException("cannot listen there: " + e.getMessage());
        }
        HttpEndpoint endpoint = new HttpEndpoint(server, metrics, tasks, status, settings, staleAfter, process);
        server.start();
        log.info("serving /metrics, /health, /api/status and the dashboard on http://{}/", listen);
        return endpoint;
    }

    /** The port listened on (the one asked for, or the one given for port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String method = ex.getRequestMethod();
            if (!"GET".equals(method) && !"HEAD".equals(method)) {
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
                send(ex, 405, "text/plain; charset=utf-8", "read-only: only GET and HEAD\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String path = ex.getRequestURI().getPath();
            switch (path) {
                case "/metrics" -> metrics(ex);
                case "/health" -> {
                    HealthReport h = health();
                    send(ex, h.ok() ? 200 : 503, "application/json", json.writeValueAsBytes(h));
                }
                case "/api/status" -> send(ex, 200, "application/json",
                        json.writeValueAsBytes(LiveStatus.of(process, tasks.get(), health(), status.latest())));
                default -> asset(ex, path);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("http: {} failed", ex.getRequestURI(), e);
        }
    }

    /**
     * Written into a buffer the size of the last answer, then sent with its length: the JDK
     * server's chunked encoding writes a big exposition in thousands of small pieces.
     */
    private void metrics(HttpExchange ex) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(lastMetricsSize + 4096);
        metrics.write(out);
        lastMetricsSize = out.size();
        send(ex, 200, MeshMetrics.contentType(), out.toByteArray());
    }

    private HealthReport health() {
        return HealthReport.of(tasks.get(), status.latest(), settings.get(), staleAfter);
    }

    private void asset(HttpExchange ex, String path) throws IOException {
        String resource = ASSETS.get(path);
        if (resource == null) {
            send(ex, 404, "text/plain; charset=utf-8",
                    "not found: try /, /metrics, /health or /api/status\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = HttpEndpoint.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                send(ex, 500, "text/plain; charset=utf-8", "missing from the jar\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String ext = resource.substring(resource.lastIndexOf('.') + 1);
            send(ex, 200, TYPES.get(ext), in.readAllBytes());
        }
    }

    private static void send(HttpExchange ex, int code, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
