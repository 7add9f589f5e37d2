package io.kvstream.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP forwarder on a loopback port to a shared server (the machine's PostgreSQL): processes pointed at it lose
 * that server when it {@link #stop() stops} (open connections cut, new ones refused) and get it back when it
 * {@link #start() starts} again on the same port, while the server itself, which other tests use, keeps running.
 * {@link #freeze()} is the other kind of failure: a network that stops carrying anything while both ends' sockets stay
 * open (no FIN, no RST), as when a node or a link dies; {@link #thaw()} lets the held bytes through again.
 */
public final class TcpProxy implements AutoCloseable {
    private final InetSocketAddress target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket server;
    /** Open while bytes flow; while frozen, each pump holds what it read until it opens again. */
    private volatile CountDownLatch flowing = new CountDownLatch(0);
    private int port;

    public TcpProxy(String targetHost, int targetPort) {
        this.target = new InetSocketAddress(targetHost, targetPort);
    }

    /** A started proxy in front of the server a JDBC URL ({@code jdbc:postgresql://host:port/db}) names. */
    public static TcpProxy toDatabase(String jdbcUrl) throws IOException {
        URI db = URI.create(jdbcUrl.substring("jdbc:".length()));
        return new TcpProxy(db.getHost(), db.getPort() < 0 ? 5432 : db.getPort()).start();
    }

    /** The JDBC URL of the same database through this proxy. */
    public String jdbcUrl(String jdbcUrl) {
        URI db = URI.create(jdbcUrl.substring("jdbc:".length()));
        return "jdbc:postgresql://127.0.0.1:" + port + db.getRawPath()
               + (db.getRawQuery() == null ? "" : "?" + db.getRawQuery());
    }

    public int port() {
        return port;
    }

    /** Listens (on the same port as before, after a {@link #stop()}) and forwards every connection. */
    public synchronized TcpProxy start() throws IOException {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
        port = socket.getLocalPort();
        server = socket;
        Thread.ofVirtual().name("tcp-proxy-accept").start(() -> accept(socket));
        return this;
    }

    /** Refuses new connections and cuts the open ones, as a server that went down does. */
    public synchronized void stop() {
        ServerSocket socket = server;
        server = null;
        close(socket);
        open.forEach(TcpProxy::close);
        open.clear();
    }

    /** Stops carrying bytes either way, on open and new connections alike; every socket stays open. */
    public synchronized void freeze() {
        if (flowing.getCount() == 0) {
            flowing = new CountDownLatch(1);
        }
    }

    /** Carries bytes again, first those held while frozen. */
    public synchronized void thaw() {
        flowing.countDown();
    }

    private void accept(ServerSocket socket) {
        while (!socket.isClosed()) {
            try {
                Socket client = socket.accept();
                Socket upstream = new Socket();
                try {
                    upstream.connect(target, 2000);
                } catch (IOException e) {
                    close(client);
                    continue;
                }
                open.add(client);
                open.add(upstream);
                if (server != socket) {
                    // stopped while connecting
                    close(client);
                    close(upstream);
                    continue;
                }
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pump(upstream, client));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                flowing.await();
                out.write(buffer, 0, n);
            }
        } catch (IOException | InterruptedException e) {
            // one side is gone: close both below
        } finally {
            close(from);
            close(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void close(AutoCloseable closeable) {
        try {
            if (closeable != null) {
                closeable.close();
            }
        } catch (Exception e) {
            // closing what is already broken
        }
    }

    @Override
    public void close() {
        thaw();
        stop();
    }
}
