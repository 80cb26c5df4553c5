package io.pgmesh.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A WAN link in a box: a TCP proxy in front of one server that holds every chunk of bytes for a
 * fixed time in each direction before passing it on, in order (netem is not available here).
 * Bandwidth is not limited; only the round trip grows, by twice the delay.
 */
final class DelayProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final long delayNanos;
    private volatile boolean open = true;

    DelayProxy(int targetPort, long oneWayMillis) throws IOException {
        this.targetPort = targetPort;
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(oneWayMillis);
        listener = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "delay proxy :" + listener.getLocalPort());
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    private void accept() {
        while (open) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                direction(client, server);
                direction(server, client);
            } catch (IOException e) {
                if (!open) {
                    return;
                }
            }
        }
    }

    private record Chunk(long due, byte[] bytes) {
    }

    /** A reader that stamps each chunk with its due time, and a writer that sends it then. */
    private void direction(Socket from, Socket to) {
        BlockingQueue<Chunk> link = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                InputStream in = from.getInputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    link.add(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buf, n)));
                }
            } catch (IOException ignored) {
                // closed
            }
            link.add(new Chunk(System.nanoTime() + delayNanos, null));
        }, "delay read");
        Thread writer = new Thread(() -> {
            try {
                OutputStream out = to.getOutputStream();
                while (true) {
                    Chunk c = link.take();
                    long wait = c.due() - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    if (c.bytes() == null) {
                        break;
                    }
                    out.write(c.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException ignored) {
                // closed
            } finally {
                try {
                    to.shutdownOutput();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }, "delay write");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    @Override
    public void close() throws IOException {
        open = false;
        listener.close();
    }
}
