package io.kvstream.testing;

import java.net.URI;

import io.helidon.webserver.WebServer;
import io.kvstream.Kvstream;
import io.kvstream.Settings;

/** One kvstream process inside the test JVM: the role's components plus a web server on a free port. */
public final class TestNode implements AutoCloseable {
    private final Kvstream app;
    private final WebServer server;

    private TestNode(Kvstream app, WebServer server) {
        this.app = app;
        this.server = server;
    }

    public static TestNode start(Settings settings) {
        return start(settings, 0);
    }

    /** Starts on a given port (0 = any free one), e.g. to restart a node where its clients will look for it. */
    public static TestNode start(Settings settings, int port) {
        Kvstream app = Kvstream.start(settings);
        WebServer server = WebServer.builder()
                .host("127.0.0.1")
                .port(port)
                .update(app::configure)
                .build()
                .start();
        return new TestNode(app, server);
    }

    public Kvstream app() {
        return app;
    }

    public int port() {
        return server.port();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    @Override
    public void close() {
        app.stopEvents();
        server.stop();
        app.close();
    }
}
