package io.kvstream.api;

import io.helidon.webserver.WebServer;
import io.kvstream.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;

/** The error bodies of failures no client can provoke on purpose, on a server with the API's error handling only. */
class ErrorBodiesTest {
    private static WebServer server;

    @BeforeAll
    static void start() {
        server = WebServer.builder()
                .host("127.0.0.1")
                .port(0)
                .update(PreRoutingErrors::configure)
                .routing(routing -> {
                    ApiErrorHandlers.register(routing, new ApiMetrics());
                    routing.get("/boom", (req, res) -> {
                        throw new IllegalStateException("a bug");
                    });
                })
                .build()
                .start();
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    /** The message and the {@code support} field name the same id, the one in the log line. */
    @Test
    void internalErrorNamesOneSupportId() throws Exception {
        RawHttp.Response response = RawHttp.send(server.port(), "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(response.status(), is(500));
        assertThat(response.body(), matchesPattern(
                "\\{\"error\":\"internal\",\"message\":\"Internal error, support id ([0-9a-f]{16})\",\"support\":\"\\1\"}"));
    }
}
