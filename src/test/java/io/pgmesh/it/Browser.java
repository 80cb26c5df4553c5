package io.pgmesh.it;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * Headless Chromium driven through chromedriver's W3C WebDriver protocol (plain HTTP and JSON):
 * the few commands a dashboard test needs, without a Selenium dependency. Chromium and
 * chromedriver come from Debian's chromium and chromium-driver packages (.ci/run installs them);
 * without them the test fails and names the packages.
 */
final class Browser implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ELEMENT = "element-6066-11e4-a52e-4f626e88cf1f";

    private final Process driver;
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String session;

    private Browser(Process driver, String base) throws Exception {
        this.driver = driver;
        this.base = base;
        ObjectNode caps = JSON.createObjectNode();
        ObjectNode always = caps.putObject("capabilities").putObject("alwaysMatch");
        always.put("browserName", "chrome");
        ObjectNode chrome = always.putObject("goog:chromeOptions");
        chrome.put("binary", "/usr/bin/chromium");
        chrome.putArray("args").add("--headless=new").add("--no-sandbox").add("--disable-gpu")
                .add("--disable-dev-shm-usage").add("--window-size=1280,1100");
        this.session = post("/session", caps).get("value").get("sessionId").asText();
    }

    static Browser start(Path logDir) throws Exception {
        for (String bin : List.of("/usr/bin/chromium", "/usr/bin/chromedriver")) {
            if (!Files.isExecutable(Path.of(bin))) {
                fail(bin + " is missing: apt-get install chromium chromium-driver (as .ci/run does) to test the dashboard");
            }
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process p = new ProcessBuilder("/usr/bin/chromedriver", "--port=" + port).redirectErrorStream(true)
                .redirectOutput(logDir.resolve("chromedriver.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String base = "http://127.0.0.1:" + port;
        HttpClient probe = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                if (probe.send(HttpRequest.newBuilder(URI.create(base + "/status")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    break;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                fail("chromedriver did not start within 20 s; see " + logDir.resolve("chromedriver.log"));
            }
            Thread.sleep(200);
        }
        try {
            return new Browser(p, base);
        } catch (Exception | AssertionError e) {
            p.destroyForcibly();
            throw e;
        }
    }

    void open(String url) throws Exception {
        post("/session/" + session + "/url", JSON.createObjectNode().put("url", url));
    }

    /** The rendered text of the first element {@code css} selects, or null when none does. */
    String text(String css) throws Exception {
        JsonNode found = send("POST", "/session/" + session + "/elements",
                JSON.createObjectNode().put("using", "css selector").put("value", css)).get("value");
        if (found.isEmpty()) {
            return null;
        }
        JsonNode ref = found.get(0);
        String id = (ref.has(ELEMENT) ? ref.get(ELEMENT) : ref.elements().next()).asText();
        return send("GET", "/session/" + session + "/element/" + id + "/text", null).get("value").asText();
    }

    /** How many elements {@code css} selects. */
    int count(String css) throws Exception {
        return send("POST", "/session/" + session + "/elements",
                JSON.createObjectNode().put("using", "css selector").put("value", css)).get("value").size();
    }

    void screenshot(Path png) throws Exception {
        String b64 = send("GET", "/session/" + session + "/screenshot", null).get("value").asText();
        Files.write(png, Base64.getDecoder().decode(b64));
    }

    private JsonNode post(String path, JsonNode body) throws Exception {
        return send("POST", path, body);
    }

    private JsonNode send(String method, String path, JsonNode body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json");
        b = body == null ? b.method(method, HttpRequest.BodyPublishers.noBody())
                : b.method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = JSON.readTree(r.body());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("webdriver " + method + " " + path + ": " + r.statusCode() + " " + r.body());
        }
        return json;
    }

    @Override
    public void close() {
        try {
            send("DELETE", "/session/" + session, null);
        } catch (Exception ignored) {
            // the driver goes anyway
        }
        driver.destroy();
        try {
            if (!driver.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                driver.destroyForcibly();
            }
        } catch (InterruptedException e) {
            driver.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
