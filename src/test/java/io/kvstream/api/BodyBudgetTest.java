package io.kvstream.api;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;

/**
 * The request bodies a process holds at once are bounded across all clients ({@code kvstream.http.max-total-body-bytes}):
 * clients that send large values and stop short of their end cannot fill the heap. Past the bound a body is refused
 * with 503, Retry-After and the connection closed, on {@code /values} and {@code /txn} alike; the bodies held are
 * answered once they end, and every share is given back, also by a client that vanishes halfway.
 */
class BodyBudgetTest {
    private static final int MAX_VALUE_BYTES = 1_048_576;
    /** The least a process may be given: its largest answer, one value whose every character is escaped. */
    private static final long BUDGET = 6L * MAX_VALUE_BYTES + 64 * 1024;
    /** Bodies of the largest value that fill the budget but for less than a small one's room. */
    private static final int FILLING = 6;
    private static final String REFUSED = "\\{\"error\":\"overloaded\",\"message\":\"The server holds as many bodies"
                                          + " as it may at once; retry\",\"support\":\"[0-9a-f]{16}\"}";

    private static final Map<Socket, Character> FILLS = new ConcurrentHashMap<>();
    private static TestNode node;

    @BeforeAll
    static void start() {
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("bodies"),
                                                  TestServices.uniqueName("bodies"));
        assertThat(settings.maxValueBytes(), is(MAX_VALUE_BYTES));
        node = TestNode.start(settings.toBuilder()
                                      .http(new Settings.Http(settings.http().headerTimeout(),
                                                              settings.http().bodyTimeout(), BUDGET))
                                      .build());
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void pastTheBoundABodyIsRefusedWhileTheBodiesHeldAreAnsweredOnceTheyEnd() throws IOException {
        List<Socket> held = allButTheLastByte("held-", FILLING);
        try {
            AtomicInteger attempt = new AtomicInteger();
            AtomicReference<String> refusedKey = new AtomicReference<>();
            RawHttp.Response refused = awaitRefused(() -> {
                refusedKey.set("small-" + attempt.incrementAndGet());
                return RawHttp.send(node.port(), put(refusedKey.get(), "s".repeat(100 * 1024)));
            });
            assertThat(refused.header("retry-after").orElse(""), is("1"));
            assertThat(refused.header("connection").orElse(""), is("close"));
            assertThat(refused.body(), matchesPattern(REFUSED));

            String txn = "{\"success\":[{\"op\":\"put\",\"key\":\"txn-small\",\"value\":\"" + "t".repeat(100 * 1024)
                         + "\"}]}";
            RawHttp.Response refusedTxn = RawHttp.send(node.port(), "POST /txn HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                                                    + txn.length() + "\r\n\r\n" + txn);
            assertThat(refusedTxn.status(), is(503));
            assertThat(refusedTxn.header("retry-after").orElse(""), is("1"));
            assertThat(refusedTxn.body(), matchesPattern(REFUSED));
            // The small writes of a key/value store go on meanwhile: they take no share.
            assertThat(RawHttp.send(node.port(), put("tiny", "t".repeat(BodyBudget.FREE_BYTES))).status(), is(200));

            for (Socket socket : held) {
                assertThat(lastByte(socket).status(), is(200));
            }
            assertThat(node.value("held-" + (FILLING - 1)).orElseThrow().value(), is(largest(FILLING - 1)));
            assertThat(node.value(refusedKey.get()).isPresent(), is(false));
            assertThat(node.value("txn-small").isPresent(), is(false));
        } finally {
            closeAll(held);
        }
        // Every share is back: the largest values fit again, and so does the one refused.
        assertThat(RawHttp.send(node.port(), put("small-again", "s".repeat(100 * 1024))).status(), is(200));
        allLargestBodiesAreHeldAndAnswered("after-");
    }

    @Test
    void aClientThatVanishesHalfwayGivesItsShareBack() throws IOException {
        Socket vanishing = allButTheLastByte("vanished", 'v');
        vanishing.setSoLinger(true, 0);
        vanishing.close();

        // With its share kept, the last of these would be refused for good.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .untilAsserted(() -> allLargestBodiesAreHeldAndAnswered("whole-"));
        assertThat(node.value("vanished").isPresent(), is(false));
    }

    /**
     * A large answer holds its room while it is written: with a client that stops reading one answer of the largest
     * size, another is refused, until that client goes away.
     */
    @Test
    void anAnswerThatIsNotReadHoldsItsRoomUntilItsClientGoesAway() throws IOException {
        // One value of control characters: six bytes each as JSON, more than the socket buffers take.
        String escaped = "\u0001".repeat(MAX_VALUE_BYTES);
        assertThat(RawHttp.send(node.port(), put("escaped", escaped)).status(), is(200));
        String get = "GET /values/escaped HTTP/1.1\r\nHost: x\r\n\r\n";
        try (Socket stuck = RawHttp.stuckReader(node.port(), get)) {
            RawHttp.Response refused = awaitRefused(() -> RawHttp.send(node.port(), get));
            assertThat(refused.header("retry-after").orElse(""), is("1"));
            assertThat(refused.body(), matchesPattern(REFUSED));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> RawHttp.send(node.port(), get).status() == 200);
        RawHttp.Response read = RawHttp.send(node.port(), get);
        assertThat(read.body(), is("{\"key\":\"escaped\",\"value\":\"" + "\\u0001".repeat(MAX_VALUE_BYTES) + "\"}"));
    }

    /** Holds bodies of the largest size that fill the budget, then ends them: all are stored. */
    private static void allLargestBodiesAreHeldAndAnswered(String prefix) throws IOException {
        List<Socket> held = allButTheLastByte(prefix, FILLING);
        try {
            for (Socket socket : held) {
                assertThat(lastByte(socket).status(), is(200));
            }
        } finally {
            closeAll(held);
        }
        assertThat(node.value(prefix + (FILLING - 1)).orElseThrow().value(), is(largest(FILLING - 1)));
    }

    private static List<Socket> allButTheLastByte(String prefix, int count) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sockets.add(allButTheLastByte(prefix + i, fill(i)));
        }
        return sockets;
    }

    private static char fill(int i) {
        return (char) ('a' + i);
    }

    private static String largest(int i) {
        return String.valueOf(fill(i)).repeat(MAX_VALUE_BYTES);
    }

    private static void closeAll(List<Socket> sockets) throws IOException {
        for (Socket socket : sockets) {
            socket.close();
        }
    }

    /** Retries {@code request} (the server may not have read the bodies held yet) until it is answered 503. */
    private static RawHttp.Response awaitRefused(IoCall request) {
        AtomicReference<RawHttp.Response> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            last.set(request.call());
            return last.get().status() == 503;
        });
        return last.get();
    }

    /** A PUT of the largest value whose last byte is not sent yet. */
    private static Socket allButTheLastByte(String key, char fill) throws IOException {
        Socket socket = new Socket("127.0.0.1", node.port());
        socket.setSoTimeout(15_000);
        OutputStream out = socket.getOutputStream();
        out.write(("PUT /values/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + MAX_VALUE_BYTES + "\r\n\r\n")
                          .getBytes(StandardCharsets.US_ASCII));
        out.write(String.valueOf(fill).repeat(MAX_VALUE_BYTES - 1).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        FILLS.put(socket, fill);
        return socket;
    }

    /** Sends the last byte, which repeats the one before it. */
    private static RawHttp.Response lastByte(Socket socket) throws IOException {
        socket.getOutputStream().write(FILLS.remove(socket));
        socket.getOutputStream().flush();
        socket.shutdownOutput();
        return RawHttp.parse(RawHttp.readAll(socket.getInputStream()));
    }

    private static String put(String key, String value) {
        return "PUT /values/" + key + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + value.length() + "\r\n\r\n" + value;
    }

    @FunctionalInterface
    private interface IoCall {
        RawHttp.Response call() throws IOException;
    }
}
