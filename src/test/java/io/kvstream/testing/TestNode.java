package io.kvstream.testing;

import java.net.URI;
import java.util.Map;
import java.util.Optional;

import io.helidon.config.Config;
import io.helidon.webserver.WebServer;
import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;
import io.kvstream.role.RunningRole;

/**
 * One kvstream process inside the test JVM: the role's parts plus a web server on a free port. What a test learns
 * of its state, it learns over HTTP, as a client or an operator would.
 */
public final class TestNode implements AutoCloseable {
    private final RunningRole role;
    private final WebServer server;

    private TestNode(RunningRole role, WebServer server) {
        this.role = role;
        this.server = server;
    }

    public static TestNode start(Settings settings) {
        return start(settings, 0);
    }

    /** Starts on a given port (0 = any free one), e.g. to restart a node where its clients will look for it. */
    public static TestNode start(Settings settings, int port) {
        return start(settings, port, Config.create().get("server"));
    }

    /** Starts with {@code server} as its server section (application.yaml's, with some keys set otherwise). */
    public static TestNode start(Settings settings, int port, Config serverSection) {
        RunningRole role = RunningRole.start(settings);
        // As the process builds it, from the server section, on loopback and the given port.
        WebServer server = role.server(serverSection)
                .host("127.0.0.1")
                .port(port)
                .build()
                .start();
        return new TestNode(role, server);
    }

    public int port() {
        return server.port();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    /** What this process serves, read over HTTP. */
    public HttpProbe probe() {
        return new HttpProbe(port());
    }

    public long revision() {
        return probe().revision();
    }

    public Optional<Entry> value(String key) {
        return probe().value(key);
    }

    public Map<String, Entry> contents() {
        return probe().contents();
    }

    /** Closes the WebSocket sessions with 1001, as a process does first when it shuts down. */
    public void stopStreams() {
        role.stopStreams();
    }

    @Override
    public void close() {
        role.stopStreams();
        server.stop();
        role.close();
    }
}
