package io.kvstream.api;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
    /** The least a process may be given: one transaction body of two values of the largest size. */
    private static final long BUDGET = 2L * MAX_VALUE_BYTES + 64 * 1024;
    private static final String REFUSED = "\\{\"error\":\"overloaded\",\"message\":\"The server holds as many request"
                                          + " bodies as it may; retry\",\"support\":\"[0-9a-f]{16}\"}";

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
        try (Socket a = allButTheLastByte("held-a", 'a'); Socket b = allButTheLastByte("held-b", 'b')) {
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

            assertThat(lastByte(a, 'a').status(), is(200));
            assertThat(lastByte(b, 'b').status(), is(200));
            assertThat(node.value("held-a").orElseThrow().value(), is("a".repeat(MAX_VALUE_BYTES)));
            assertThat(node.value("held-b").orElseThrow().value(), is("b".repeat(MAX_VALUE_BYTES)));
            assertThat(node.value(refusedKey.get()).isPresent(), is(false));
            assertThat(node.value("txn-small").isPresent(), is(false));
        }
        // Every share is back: the largest values fit again, and so does the one refused.
        assertThat(RawHttp.send(node.port(), put("small-again", "s".repeat(100 * 1024))).status(), is(200));
        bothLargestBodiesAreHeldAndAnswered("after-a", "after-b");
    }

    @Test
    void aClientThatVanishesHalfwayGivesItsShareBack() throws IOException {
        Socket vanishing = allButTheLastByte("vanished", 'v');
        vanishing.setSoLinger(true, 0);
        vanishing.close();

        // With its share kept, the second of these would be refused for good.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .untilAsserted(() -> bothLargestBodiesAreHeldAndAnswered("whole-a", "whole-b"));
        assertThat(node.value("vanished").isPresent(), is(false));
    }

    /** Holds two bodies of the largest size at once, then ends both: both are stored. */
    private static void bothLargestBodiesAreHeldAndAnswered(String first, String second) throws IOException {
        try (Socket a = allButTheLastByte(first, 'x'); Socket b = allButTheLastByte(second, 'y')) {
            assertThat(lastByte(a, 'x').status(), is(200));
            assertThat(lastByte(b, 'y').status(), is(200));
        }
        assertThat(node.value(second).orElseThrow().value(), is("y".repeat(MAX_VALUE_BYTES)));
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
        return socket;
    }

    private static RawHttp.Response lastByte(Socket socket, char fill) throws IOException {
        socket.getOutputStream().write(fill);
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
