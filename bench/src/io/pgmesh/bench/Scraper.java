package io.pgmesh.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * What watches a pgmesh run started with {@code --http}, so that its cost is in the measurement:
 * Prometheus scraping /metrics every 5 s and a dashboard reading /api/status every 2 s, for as
 * long as the process lives.
 */
final class Scraper {
    private Scraper() {
    }

    static void startFor(List<String> command, Process process) {
        int i = command.indexOf("--http");
        if (i < 0 || i + 1 >= command.size()) {
            return;
        }
        String base = "http://" + command.get(i + 1);
        Thread t = new Thread(() -> watch(base, process), "bench scraper");
        t.setDaemon(true);
        t.start();
    }

    private static void watch(String base, Process process) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long tick = 0;
        while (process.isAlive()) {
            try {
                Thread.sleep(1000);
                tick++;
                if (tick % 2 == 0) {
                    get(http, base + "/api/status");
                }
                if (tick % 5 == 0) {
                    get(http, base + "/metrics");
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                // not listening yet, or gone: the next tick tries again
            }
        }
    }

    private static void get(HttpClient http, String url) throws Exception {
        http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.discarding());
    }
}
