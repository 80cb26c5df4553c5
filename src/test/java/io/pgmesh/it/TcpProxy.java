package io.pgmesh.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy in front of one server, for faults the network makes: {@link #blackHole} keeps every
 * connection open but lets nothing through in either direction, as a cut link or a lost host does
 * (no reset, no FIN: neither side learns anything until its own timeouts). New connections are
 * accepted and then hear nothing too.
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile boolean blackHole;
    private volatile boolean open = true;

    TcpProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::accept, "proxy :" + listener.getLocalPort() + " -> :" + targetPort);
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** From now on, bytes in either direction are dropped (true) or passed (false). */
    void blackHole(boolean on) {
        blackHole = on;
    }

    private void accept() {
        while (open) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5000);
                sockets.add(client);
                sockets.add(server);
                pump(client, server);
                pump(server, client);
            } catch (IOException e) {
                if (!open) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try {
                // Not closed through the streams: closing one closes its socket, and a cut link must not.
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (!blackHole) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException ignored) {
                // one side closed: the other learns it below, unless the link is cut
            } finally {
                closeQuietly(from);
                if (!blackHole) {
                    closeQuietly(to); // a cut link carries no FIN either: the other side waits on
                }
            }
        }, "proxy pump");
        t.setDaemon(true);
        t.start();
    }

    private void closeQuietly(Socket s) {
        sockets.remove(s);
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        open = false;
        listener.close();
        sockets.forEach(this::closeQuietly);
    }
}
