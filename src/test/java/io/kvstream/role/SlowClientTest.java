package io.kvstream.role;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * Clients that send their request too slowly (slowloris) are disconnected by the server, over raw sockets so no
 * client library completes a request for us; clients that are slow but keep sending, idle keep-alive connections and
 * {@code /events} WebSockets are not.
 */
class SlowClientTest {
    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration BODY_TIMEOUT = Duration.ofSeconds(2);
    /** Far longer than either timeout plus a sweep: the server closes well within it, or the test fails. */
    private static final int CLOSED_WITHIN_MILLIS = 20_000;
    private static TestNode node;

    @BeforeAll
    static void start() {
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("slow"),
                                                  TestServices.uniqueName("slow"));
        settings = settings.toBuilder()
                .http(new Settings.Http(HEADER_TIMEOUT, BODY_TIMEOUT, settings.http().maxTotalBodyBytes()))
                .build();
        node = TestNode.start(settings);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void halfSentHeadersAreClosedByTheServer() throws IOException {
        try (Socket socket = connect()) {
            send(socket, "GET /values/half HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: app");

            assertThat(readUntilClosed(socket), is(""));
        }
    }

    @Test
    void bodyShorterThanItsContentLengthIsClosedAndStoresNothing() throws IOException {
        String answer = sendTenOfAHundredBodyBytes("PUT", "short-body");

        assertThat(answer, anyOf(is(""), startsWith("HTTP/1.1 400"), startsWith("HTTP/1.1 408")));
        assertThat(node.value("short-body").isPresent(), is(false));
    }

    @Test
    void bodyShorterThanItsContentLengthOnARouteThatDoesNotReadItIsClosed() throws IOException {
        // The GET is answered (its route never reads a body); the rest of the body never comes, so it is cut.
        String answer = sendTenOfAHundredBodyBytes("GET", "unread-body");

        assertThat(answer, anyOf(is(""), startsWith("HTTP/1.1 404"), startsWith("HTTP/1.1 400")));
    }

    @Test
    void slowButSteadyClientAndItsIdleKeepAliveConnectionAreServed() throws IOException, InterruptedException {
        try (Socket socket = connect()) {
            // Each request arrives in pieces, well within the deadlines ...
            sendInPieces(socket, "PUT /values/steady HTTP/1.1\r\n", "Host: 127.0.0.1\r\n", "Content-Length: 6\r\n\r\n",
                         "ste", "ady");
            assertThat(readResponseStatusLine(socket), is("HTTP/1.1 200 OK"));

            // ... and the connection idles between requests for longer than either deadline.
            Thread.sleep(BODY_TIMEOUT.plus(HEADER_TIMEOUT).toMillis() + 500);
            sendInPieces(socket, "GET /values/steady HTTP/1.1\r\n", "Host: 127.0.0.1\r\n\r\n");
            assertThat(readResponseStatusLine(socket), is("HTTP/1.1 200 OK"));
        }
    }

    /**
     * A client that stops reading its answer is cut off once the body deadline has passed, so it cannot hold the
     * answer's bytes for as long as it keeps its socket; an event stream is not an answer and is never cut.
     */
    @Test
    void aClientThatStopsReadingItsAnswerIsClosed() throws IOException {
        // One value of control characters: six bytes each as JSON, more than the socket buffers take.
        String escaped = "\u0001".repeat(1_048_576);
        try (Socket socket = connect()) {
            send(socket, "PUT /values/unread HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + escaped.length()
                         + "\r\n\r\n" + escaped);
            assertThat(readResponseStatusLine(socket), is("HTTP/1.1 200 OK"));
        }
        try (Socket stuck = RawHttp.stuckReader(node.port(), "GET /values/unread HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) {
            Duration pastTheDeadline = BODY_TIMEOUT.plus(HEADER_TIMEOUT).multipliedBy(2);
            await().pollDelay(pastTheDeadline).atMost(pastTheDeadline.plusSeconds(5)).until(() -> true);
            stuck.setSoTimeout(5_000);
            // Closed, the rest of the answer never comes: what was buffered, then the end.
            assertThat(RawHttp.readsToTheEnd(stuck), is(true));
        }
    }

    @Test
    void longLivedWebSocketIsNotCut() throws IOException {
        try (WsClient client = WsClient.connect(WsClient.events(node.port(), ""))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !client.openedIds().isEmpty());

            Duration pastBothDeadlines = BODY_TIMEOUT.plus(HEADER_TIMEOUT).multipliedBy(2);
            await().during(pastBothDeadlines).atMost(pastBothDeadlines.plusSeconds(5))
                    .until(() -> !client.closed.isDone());

            assertThat(put("after-idle", "x"), is("HTTP/1.1 200 OK"));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> client.messages.stream().anyMatch(m -> m.contains("after-idle")));
        }
    }

    @Test
    void manySlowlorisSocketsFromOneAddressAreAllClosed() throws IOException {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                Socket socket = connect();
                sockets.add(socket);
                send(socket, "GET /values/loris-" + i + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Loris: " + i);
            }
            for (Socket socket : sockets) {
                assertThat(readUntilClosed(socket), is(""));
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
        assertThat(put("still-serving", "ok"), is("HTTP/1.1 200 OK"));
    }

    private static String put(String key, String value) throws IOException {
        try (Socket socket = connect()) {
            send(socket, "PUT /values/" + key + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + value.length()
                         + "\r\n\r\n" + value);
            return readResponseStatusLine(socket);
        }
    }

    /** Sends a request announcing 100 body bytes and only 10; returns what the server sent until it closed. */
    private static String sendTenOfAHundredBodyBytes(String method, String key) throws IOException {
        try (Socket socket = connect()) {
            send(socket, method + " /values/" + key + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                         + "0123456789");
            return readUntilClosed(socket);
        }
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket("127.0.0.1", node.port());
        socket.setSoTimeout(CLOSED_WITHIN_MILLIS);
        return socket;
    }

    private static void send(Socket socket, String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Paces a client that sends every piece 100 ms after the previous one. */
    private static void sendInPieces(Socket socket, String... pieces) throws IOException, InterruptedException {
        for (String piece : pieces) {
            send(socket, piece);
            Thread.sleep(100);
        }
    }

    /** What the server sent before it closed the connection; fails (read timeout) if it never closes it. */
    private static String readUntilClosed(Socket socket) throws IOException {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[1024];
        try {
            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                received.write(buffer, 0, n);
            }
        } catch (SocketException reset) {
            // closed with unread input: a reset is a close too
        }
        return received.toString(StandardCharsets.US_ASCII);
    }

    /** Reads one whole response (headers and a Content-Length body) and returns its status line. */
    private static String readResponseStatusLine(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat("connection closed mid-response: " + head, b >= 0, is(true));
            head.append((char) b);
        }
        String lengthHeader = head.toString().lines()
                .filter(line -> line.toLowerCase().startsWith("content-length:"))
                .findFirst().orElse("content-length: 0");
        in.readNBytes(Integer.parseInt(lengthHeader.substring(lengthHeader.indexOf(':') + 1).trim()));
        return head.substring(0, head.indexOf("\r\n"));
    }
}
