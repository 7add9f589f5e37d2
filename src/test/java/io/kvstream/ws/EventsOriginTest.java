package io.kvstream.ws;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.startsWith;

/**
 * Who may open {@code /events}, on a raw socket so that {@code Host} and {@code Origin} are exactly what a browser
 * sends: with {@code kvstream.ws.allowed-origins} a list, a listed origin, the server's own origin (the landing page
 * on the host it came from) and a client without {@code Origin} get the stream, any other origin 403; the same for
 * the WebSocket upgrade and for Server-Sent Events. Without a list, only the own origin and none.
 */
class EventsOriginTest {
    private static final String LISTED = "https://app.example";
    private static final String OTHER = "https://evil.example";
    private static TestNode listing;
    private static TestNode unlisted;

    @BeforeAll
    static void start() {
        listing = TestNode.start(settings(Settings.Role.ALL, LISTED + ", http://also.example:8443"));
        unlisted = TestNode.start(settings(Settings.Role.WEBSOCKET, ""));
    }

    @AfterAll
    static void stop() {
        for (TestNode node : new TestNode[] {listing, unlisted}) {
            if (node != null) {
                node.close();
            }
        }
    }

    private static Settings settings(Settings.Role role, String allowedOrigins) {
        Settings settings = TestServices.settings(role, TestServices.uniqueName("origin"),
                                                  TestServices.uniqueName("origin"));
        Settings.Ws ws = settings.ws();
        return settings.toBuilder()
                .ws(new Settings.Ws(ws.queueSize(), ws.maxBufferedBytes(), ws.maxTotalBufferedBytes(), ws.maxReplays(), ws.heartbeat(), allowedOrigins))
                .build();
    }

    @Test
    void withAListTheListedTheOwnAndNoOriginUpgradeAndAnotherOriginIs403() throws IOException {
        String host = "127.0.0.1:" + listing.port();

        assertThat(upgradeStatus(listing, host, LISTED), is(101));
        assertThat(upgradeStatus(listing, host, "http://also.example:8443"), is(101));
        assertThat(upgradeStatus(listing, host, "http://" + host), is(101));
        assertThat(upgradeStatus(listing, host, null), is(101));
        assertThat(upgradeStatus(listing, host, OTHER), is(403));
        assertThat("same host, another port", upgradeStatus(listing, host, "http://127.0.0.1:1"), is(403));
    }

    /** A refused origin gets the same error over both transports. */
    @Test
    void aRefusedOriginGetsOneErrorOverTheWebSocketAndServerSentEvents() throws IOException {
        String host = "127.0.0.1:" + listing.port();
        for (String request : List.of(
                "GET /events HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: " + OTHER + "\r\n\r\n",
                "GET /events HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\nOrigin: " + OTHER
                + "\r\nConnection: close\r\n\r\n")) {
            RawHttp.Response response = RawHttp.send(listing.port(), request);
            assertThat(request, response.status(), is(403));
            assertThat(request, response.body(), matchesPattern("\\{\"error\":\"forbidden_origin\",\"message\":\""
                                                                + "(This Origin|Origin " + OTHER + ") may not open /events\","
                                                                + "\"support\":\"[0-9a-f]{16}\"}"));
        }
    }

    /** Behind the Ingress: the page's origin is the public host, which the pod sees as Host. */
    @Test
    void theOwnOriginIsTheHostTheRequestNamesWithTheSchemesDefaultPort() throws IOException {
        assertThat(upgradeStatus(listing, "kv.example.com", "https://kv.example.com"), is(101));
        assertThat(upgradeStatus(listing, "kv.example.com:443", "https://kv.example.com"), is(101));
        assertThat(upgradeStatus(listing, "kv.example.com", "https://other.example.com"), is(403));
        assertThat(eventStreamStatus(listing, "kv.example.com", "https://kv.example.com"), is(200));
        assertThat(eventStreamStatus(listing, "kv.example.com:443", "https://kv.example.com"), is(200));
        assertThat(eventStreamStatus(listing, "kv.example.com", "https://other.example.com"), is(403));
        assertThat("host names are case-insensitive", upgradeStatus(listing, "KV.Example.com", "https://kv.example.com"), is(101));
        assertThat(eventStreamStatus(listing, "KV.Example.com", "https://kv.example.com"), is(200));
    }

    @Test
    void withAListTheListedTheOwnAndNoOriginGetServerSentEventsAndAnotherOriginIs403() throws IOException {
        String host = "127.0.0.1:" + listing.port();

        assertThat(eventStreamStatus(listing, host, LISTED), is(200));
        assertThat(eventStreamStatus(listing, host, "http://" + host), is(200));
        assertThat(eventStreamStatus(listing, host, null), is(200));
        assertThat(eventStreamStatus(listing, host, OTHER), is(403));
        assertThat("same host, another port", eventStreamStatus(listing, host, "http://127.0.0.1:1"), is(403));
    }

    /** The list is about the stream: with CORS off the API still answers any origin, without CORS headers. */
    @Test
    void theApiIgnoresTheStreamsList() throws IOException {
        RawHttp.Response missing = RawHttp.send(listing.port(), "GET /values/no-such-key HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                                + "Origin: " + OTHER + "\r\nConnection: close\r\n\r\n");

        assertThat(missing.status(), is(404));
        assertThat(missing.header("Access-Control-Allow-Origin"), is(Optional.empty()));
    }

    @Test
    void withoutAListOnlyTheOwnOriginAndNoOriginOpenTheStream() throws IOException {
        String host = "127.0.0.1:" + unlisted.port();

        assertThat(upgradeStatus(unlisted, host, "http://" + host), is(101));
        assertThat(upgradeStatus(unlisted, host, null), is(101));
        assertThat(upgradeStatus(unlisted, host, LISTED), is(403));
        assertThat(eventStreamStatus(unlisted, host, "http://" + host), is(200));
        assertThat(eventStreamStatus(unlisted, host, null), is(200));
        assertThat(eventStreamStatus(unlisted, host, LISTED), is(403));
    }

    /**
     * With CORS on, Helidon's CORS filter runs first and judges the own origin by the pod's scheme: behind an Ingress
     * that ends TLS the page's {@code https://} origin looks foreign to it and must be listed (the chart lists the
     * Ingress host's origins when CORS is on). A CORS origin may read Server-Sent Events, not open the WebSocket.
     */
    @Test
    void withCorsOnTheIngressOriginMustBeListed() throws IOException {
        Settings.Cors cors = new Settings.Cors(Set.of("https://cors.example"));
        try (TestNode listed = TestNode.start(settings(Settings.Role.WEBSOCKET, "https://kv.example.com").toBuilder()
                                                      .cors(cors).build());
             TestNode notListed = TestNode.start(settings(Settings.Role.WEBSOCKET, "").toBuilder().cors(cors).build())) {
            String host = "127.0.0.1:" + listed.port();

            assertThat(upgradeStatus(listed, "kv.example.com", "https://kv.example.com"), is(101));
            assertThat(eventStreamStatus(listed, "kv.example.com", "https://kv.example.com"), is(200));
            assertThat(upgradeStatus(listed, host, "http://" + host), is(101));
            assertThat(eventStreamStatus(listed, host, "https://cors.example"), is(200));
            assertThat(upgradeStatus(listed, host, "https://cors.example"), is(403));
            assertThat(eventStreamStatus(listed, host, OTHER), is(403));
            assertThat(upgradeStatus(notListed, "kv.example.com", "https://kv.example.com"), is(403));
            assertThat(eventStreamStatus(notListed, "kv.example.com", "https://kv.example.com"), is(403));
        }
    }

    /** The JDK's own clients, as a page's script would use the stream: events arrive from the own origin. */
    @Test
    void theOwnOriginReceivesTheStream() {
        String own = "http://127.0.0.1:" + listing.port();
        try (WsClient ws = WsClient.connect(WsClient.events(listing.port(), ""), true, Map.of("Origin", own));
             SseClient sse = SseClient.connect(listing.port(), "", Map.of("Origin", own))) {
            assertThat(sse.response().statusCode(), is(200));
            await().atMost(Duration.ofSeconds(20)).until(() -> !ws.openedIds().isEmpty() && !sse.openedIds().isEmpty());
        }
    }

    /** The status of a WebSocket upgrade of {@code /events} with these {@code Host} and {@code Origin} (null: none). */
    private static int upgradeStatus(TestNode node, String host, String origin) throws IOException {
        return status(node, "GET /events HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                            + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n");
    }

    private static int eventStreamStatus(TestNode node, String host, String origin) throws IOException {
        return status(node, "GET /events HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\n"
                            + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n");
    }

    /** Sends the request and reads the status line only: an accepted stream stays open, so nothing waits for its end. */
    private static int status(TestNode node, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", node.port())) {
            socket.setSoTimeout(15_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String statusLine = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                                                                         StandardCharsets.ISO_8859_1)).readLine();
            return Integer.parseInt(statusLine.split(" ")[1]);
        }
    }
}
