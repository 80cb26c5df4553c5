package io.pgmesh.config;

import java.net.InetSocketAddress;

/** A listen address written HOST:PORT ({@code [::1]:9187} for IPv6), as --http and http.listen take it. */
public final class HttpAddress {
    private HttpAddress() {
    }

    /** What is wrong with {@code text}, or null when it reads as HOST:PORT. */
    public static String problem(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            return "expected HOST:PORT, such as 127.0.0.1:9187, got \"" + text + "\"";
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 1 || port > 65535) {
                return "the port must be 1..65535, got " + port;
            }
        } catch (NumberFormatException e) {
            return "expected HOST:PORT with a numeric port, such as 127.0.0.1:9187, got \"" + text + "\"";
        }
        return null;
    }

    /** The address {@code text} names; the host is not resolved here. */
    public static InetSocketAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return InetSocketAddress.createUnresolved(host, Integer.parseInt(text.substring(colon + 1)));
    }
}
