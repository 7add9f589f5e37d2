package io.kvstream.ws;

import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.kvstream.config.Settings;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import io.kvstream.wire.Json;
import io.kvstream.wire.Names;
import io.kvstream.wire.PresenceChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code /events} through the JDK's WebSocket client against real processes: one {@code all} node takes the
 * writes (HTTP), two {@code websocket} nodes share its database and broker names, as separate pods would.
 */
class EventsEndpointTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static String schema;
    private static String prefix;
    private static TestNode writer;
    private static TestNode wsA;
    private static TestNode wsB;

    @BeforeAll
    static void start() {
        schema = TestServices.uniqueName("ws");
        prefix = TestServices.uniqueName("ws");
        writer = TestNode.start(settings(Settings.Role.ALL));
        wsA = TestNode.start(settings(Settings.Role.WEBSOCKET));
        wsB = TestNode.start(settings(Settings.Role.WEBSOCKET));
    }

    @AfterAll
    static void stop() {
        for (TestNode node : new TestNode[] {wsB, wsA, writer}) {
            if (node != null) {
                node.close();
            }
        }
    }

    private static Settings settings(Settings.Role role) {
        return TestServices.settings(role, schema, prefix);
    }

    private static WsClient connectLive(TestNode node, String query) {
        return WsClient.connectLive(WsClient.events(node.port(), query));
    }

    @Test
    void putAndDeleteArriveAsSeedEnvelopesWithRevisions() {
        try (WsClient client = connectLive(wsA, "")) {
            long put = KvHttp.put(writer.port(), "k", "v");
            long delete = KvHttp.delete(writer.port(), "k");

            await().atMost(WAIT).until(() -> client.revisions().contains(delete));
            // wsA may still have been applying an earlier test's writes when the client registered: those come first
            List<String> events = client.ofType("domain_event");
            assertThat(events.subList(events.size() - 2, events.size()), contains(
                    "{\"type\":\"domain_event\",\"route\":\"events\",\"from\":\"Domain Event\",\"value\":\"ValueHasBeenPut\","
                    + "\"event\":{\"event\":\"value_put\",\"key\":\"k\",\"value\":\"v\",\"revision\":" + put + "}}",
                    "{\"type\":\"domain_event\",\"route\":\"events\",\"from\":\"Domain Event\",\"value\":\"ValueHasBeenDeleted\","
                    + "\"event\":{\"event\":\"value_deleted\",\"key\":\"k\",\"revision\":" + delete + "}}"));
        }
    }

    /**
     * A WebSocket request that cannot be upgraded gets one JSON 400 naming version 13, and the connection goes on: a
     * key that is not base64 (Helidon alone answers 500), {@code Upgrade: websocket} without {@code Connection: Upgrade}
     * (Helidon alone answers twice, so the next request on the connection would read the second answer), and no
     * {@code Sec-WebSocket-Version} (Helidon alone upgrades it).
     */
    @Test
    void aMalformedUpgradeGetsOne400AndTheConnectionGoesOn() throws Exception {
        String badKey = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        String noConnectionUpgrade = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                     + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        String noVersion = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        String last = "GET /observe/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        String answers = RawHttp.sendKeepingOpen(wsA.port(), badKey + noConnectionUpgrade + noVersion + last);
        // Each answer's status line; a body is not followed by a line break, so they are found where they start.
        List<String> statusLines = Pattern.compile("HTTP/1\\.1 \\d{3} [^\\r]*").matcher(answers).results()
                .map(MatchResult::group).toList();
        assertThat(answers, statusLines, contains("HTTP/1.1 400 Bad Request", "HTTP/1.1 400 Bad Request",
                                                  "HTTP/1.1 400 Bad Request", "HTTP/1.1 200 OK"));
        assertThat(answers, containsString("{\"error\":\"bad_request\",\"message\":\"A WebSocket upgrade needs Sec-WebSocket-Version: 13\""));
        assertThat(answers, Pattern.compile("Sec-WebSocket-Version: 13\r\n").matcher(answers).results().count(), is(3L));
        assertThat(answers, containsString("{\"error\":\"bad_request\",\"message\":\"Sec-WebSocket-Key must be 16 bytes in base64\""));
        assertThat(answers, containsString("{\"error\":\"bad_request\",\"message\":\"A WebSocket upgrade needs Connection: Upgrade\""));
    }

    /**
     * /events takes GET and HEAD: another method gets a 405 naming both; a HEAD gets the headers its GET would (the
     * event stream's, or the 406's) and no body, and the connection goes on.
     */
    @Test
    void anotherMethodIs405AndAHeadGetsTheHeadersOfItsGetAlone() throws Exception {
        String headStream = "HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
        String headNeither = "HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        String post = "POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
        String last = "GET /observe/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        String answers = RawHttp.sendKeepingOpen(wsA.port(), headStream + headNeither + post + last);
        List<String> statusLines = Pattern.compile("HTTP/1\\.1 \\d{3} [^\\r]*").matcher(answers).results()
                .map(MatchResult::group).toList();
        assertThat(answers, statusLines, contains("HTTP/1.1 200 OK", "HTTP/1.1 406 Not Acceptable",
                                                  "HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 200 OK"));
        // Each answer's head with the CRLF that ends its last header line.
        String[] parts = answers.split("(?<=\r\n)\r\n", 4);
        assertThat(answers, parts[0], containsString("Content-Type: text/event-stream\r\n"));
        assertThat(answers, parts[0], containsString("Cache-Control: no-cache\r\n"));
        // Helidon 4.5 frames an answer without a body so; a GET's stream has no length.
        assertThat(answers, parts[0], containsString("Content-Length: 0\r\n"));
        // Each HEAD's headers are followed at once by the next answer.
        assertThat(answers, parts[1], startsWith("HTTP/1.1 406 "));
        assertThat(answers, parts[1], containsString("Content-Type: application/json\r\n"));
        assertThat(answers, parts[2], startsWith("HTTP/1.1 405 "));
        assertThat(answers, parts[2], containsString("Allow: GET, HEAD\r\n"));
        assertThat(answers, parts[3], startsWith(
                "{\"error\":\"method_not_allowed\",\"message\":\"Allowed: GET, HEAD\""));
    }

    /**
     * A GET of /events that asks for neither stream (no upgrade; no {@code text/event-stream} in {@code Accept}, or
     * one with q=0) is a 406 naming both ways in (not a 405 that names GET); one
     * whose upgrade Helidon did not take ({@code Upgrade: WebSocket}: it matches the token in lowercase only) is a
     * 400 saying how to ask; a repeated parameter is a 400 on an event stream too.
     */
    @Test
    void aGetForNeitherStreamIs406AndAnUpgradeNotTakenIs400() throws Exception {
        String plain = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        String capitalized = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
                             + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        String notAcceptable = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream;q=0\r\n\r\n";
        String lookalike = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/text/event-streamx\r\n\r\n";
        String twice = "GET /events?since=1&since=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                       + "Connection: close\r\n\r\n";
        String answers = RawHttp.sendKeepingOpen(wsA.port(), plain + capitalized + notAcceptable + lookalike + twice);
        List<String> statusLines = Pattern.compile("HTTP/1\\.1 \\d{3} [^\\r]*").matcher(answers).results()
                .map(MatchResult::group).toList();

        assertThat(answers, statusLines, contains("HTTP/1.1 406 Not Acceptable", "HTTP/1.1 400 Bad Request",
                                                  "HTTP/1.1 406 Not Acceptable", "HTTP/1.1 406 Not Acceptable",
                                                  "HTTP/1.1 400 Bad Request"));
        assertThat(answers, containsString("{\"error\":\"not_acceptable\",\"message\":\"/events streams over a"
                                           + " WebSocket (Upgrade: websocket) or as Server-Sent Events (Accept:"
                                           + " text/event-stream)\""));
        assertThat(answers, containsString("\"message\":\"This server takes a WebSocket upgrade as Upgrade:"
                                           + " websocket (in lowercase, alone)\""));
        assertThat(answers, containsString("\"message\":\"Send since once\""));
    }

    @Test
    void sinceReplaysStoredEventsThenStreamsLiveWithoutGapOrDuplicate() throws Exception {
        long since = KvHttp.put(writer.port(), "resume-0", "before");
        KvHttp.put(writer.port(), "resume-1", "stored");
        KvHttp.put(writer.port(), "resume-2", "stored");
        // Writes keep coming while the client connects, replays and switches to live.
        Thread writes = Thread.ofVirtual().start(() -> IntStream.range(0, 30)
                .forEach(i -> KvHttp.put(writer.port(), "resume-live-" + i, "v" + i)));
        try (WsClient client = WsClient.connect(WsClient.events(wsB.port(), "since=" + since))) {
            writes.join();
            long last = KvHttp.put(writer.port(), "resume-last", "end");

            await().atMost(WAIT).until(() -> client.revisions().contains(last));
            assertThat(client.revisions(), is(LongStream.rangeClosed(since + 1, last).boxed().toList()));
        }
    }

    /**
     * Issue 15: a client resuming from far back while writes keep coming was closed "Too slow" because the live
     * events queued up behind its replay. The replay must not count against the live queue: with a queue of 4 the
     * client still gets every revision once, in order, and stays open.
     */
    @Test
    void resumingFarBehindWhileWritesContinueGetsEveryRevisionOnceAndStaysOpen() throws Exception {
        Settings.Ws smallQueue = new Settings.Ws(4, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofHours(1), "");
        try (TestNode node = TestNode.start(settings(Settings.Role.WEBSOCKET).toBuilder().ws(smallQueue).build())) {
            long since = KvHttp.put(writer.port(), "backlog-start", "x");
            int backlog = 1500;
            IntStream.range(0, backlog).forEach(i -> KvHttp.putAsync(writer.port(), "backlog-" + (i % 50), "v" + i));
            AtomicBoolean writing = new AtomicBoolean(true);
            Thread writes = Thread.ofVirtual().start(() -> {
                for (int i = 0; writing.get(); i++) {
                    KvHttp.put(writer.port(), "under-load-" + (i % 20), "v" + i);
                }
            });
            try (WsClient client = WsClient.connect(WsClient.events(node.port(), "since=" + since))) {
                // Past the backlog and 50 writes into the live stream, the writes still going on.
                await().atMost(WAIT.multipliedBy(3))
                        .until(() -> client.closed.isDone() || client.revisions().size() > backlog + 50);
                assertThat(client.closeReason, is(nullValue()));
                writing.set(false);
                writes.join();
                long last = KvHttp.put(writer.port(), "backlog-end", "y");

                await().atMost(WAIT).until(() -> client.revisions().contains(last));
                assertThat(client.revisions(), is(LongStream.rangeClosed(since + 1, last).boxed().toList()));
                assertThat(client.closed.isDone(), is(false));
            } finally {
                writing.set(false);
            }
        }
    }

    /**
     * D4: a client that opens {@code ?since=R} over large values and never reads used to pin a whole replay page
     * (500 events of up to 1 MiB) forever. Now its replay is read in pages bounded by bytes and it is dropped once a
     * send to it has stalled for three heartbeats; a reading client replaying the same events gets all of them.
     */
    @Test
    void clientThatStopsReadingDuringReplayIsDroppedWhileOthersGetEverything() throws Exception {
        try (TestNode node = TestNode.start(TestServices.withHeartbeat(settings(Settings.Role.WEBSOCKET),
                                                                       Duration.ofSeconds(1)));
             WsClient watcher = connectLive(node, "")) {
            String watcherId = watcher.openedIds().getFirst();
            long since = KvHttp.put(writer.port(), "large-start", "x");
            List<Long> written = KvHttp.putLarge(writer.port(), "large-", 12);

            try (java.net.Socket stuck = RawHttp.stuckReader(node.port(), RawHttp.upgrade("/events?since=" + since, ""))) {
                await().atMost(WAIT).until(() -> watcher.openedIds().size() == 2);
                String stuckId = watcher.openedIds().stream().filter(id -> !id.equals(watcherId)).findFirst().orElseThrow();

                await().atMost(WAIT.multipliedBy(3)).until(() -> watcher.ofType("connection_closed").contains(closed(stuckId)));
                // Its socket is gone too: what it finally reads ends, instead of the stream going on.
                stuck.setSoTimeout((int) WAIT.toMillis());
                assertThat(RawHttp.readsToTheEnd(stuck), is(true));
            }

            try (WsClient reader = WsClient.connect(WsClient.events(node.port(), "since=" + since))) {
                await().atMost(WAIT.multipliedBy(3)).until(() -> reader.revisions().size() == written.size());
                assertThat(reader.revisions(), is(written));
                assertThat(reader.closed.isDone(), is(false));
            }
            long after = KvHttp.put(writer.port(), "large-after", "small");
            await().atMost(WAIT).until(() -> watcher.revisions().contains(after));
            assertThat(watcher.closed.isDone(), is(false));
        }
    }


    /**
     * Each replaying client holds a page of the log while it is sent, so at most {@code kvstream.ws.max-replays} replay
     * at once: with one, a client that stops reading mid-replay holds it, and the next resuming client is told to
     * retry (close 1013) instead of adding its page to the heap; once the stuck one is dropped, a resume succeeds.
     */
    @Test
    void aResumeFindingEveryReplayTakenIsToldToRetryAndSucceedsOnceOneIsFree() throws Exception {
        Settings base = TestServices.withHeartbeat(settings(Settings.Role.WEBSOCKET), Duration.ofSeconds(1));
        Settings.Ws ws = base.ws();
        Settings oneReplay = base.toBuilder()
                .ws(new Settings.Ws(ws.queueSize(), ws.maxBufferedBytes(), ws.maxTotalBufferedBytes(), 1, ws.heartbeat(), ws.allowedOrigins())).build();
        try (TestNode node = TestNode.start(oneReplay)) {
            long since = KvHttp.put(writer.port(), "busy-start", "x");
            List<Long> written = KvHttp.putLarge(writer.port(), "busy-", 12);

            try (java.net.Socket stuck = RawHttp.stuckReader(node.port(), RawHttp.upgrade("/events?since=" + since, ""))) {
                // Until the stuck client's writer holds the replay, a resume may still get it: it then reads to the end.
                await().atMost(WAIT).until(() -> {
                    try (WsClient resume = WsClient.connect(WsClient.events(node.port(), "since=" + since))) {
                        await().atMost(WAIT).until(() -> resume.closed.isDone() || resume.revisions().size() == written.size());
                        return resume.closed.isDone() && resume.closed.get() == 1013 && resume.revisions().isEmpty();
                    }
                });
            }

            await().atMost(WAIT.multipliedBy(3)).until(() -> {
                try (WsClient resume = WsClient.connect(WsClient.events(node.port(), "since=" + since))) {
                    await().atMost(WAIT).until(() -> resume.closed.isDone() || resume.revisions().size() == written.size());
                    return resume.revisions().equals(written);
                }
            });
        }
    }

    @Test
    void clientDroppedMidStreamResumesToTheSameSequenceAsOneThatNeverDropped() {
        long start = KvHttp.put(writer.port(), "drop-start", "x");
        try (WsClient steady = WsClient.connect(WsClient.events(wsA.port(), "since=" + start))) {
            WsClient dropping = WsClient.connect(WsClient.events(wsB.port(), "since=" + start));
            Thread writes = Thread.ofVirtual().start(() -> IntStream.range(0, 60)
                    .forEach(i -> KvHttp.put(writer.port(), "drop-" + (i % 7), "v" + i)));
            await().atMost(WAIT).until(() -> dropping.revisions().size() >= 10);
            dropping.abort(); // the network goes away mid-stream
            List<Long> before = dropping.revisions();
            long resumeAfter = before.getLast();
            try (WsClient resumed = WsClient.connect(WsClient.events(wsB.port(), "since=" + resumeAfter))) {
                writes.join();
                long last = KvHttp.put(writer.port(), "drop-end", "y");
                await().atMost(WAIT).until(() -> resumed.revisions().contains(last) && steady.revisions().contains(last));

                List<String> stitched = new java.util.ArrayList<>(dropping.ofType("domain_event"));
                stitched.addAll(resumed.ofType("domain_event"));
                assertThat(stitched, is(steady.ofType("domain_event")));
                assertThat(steady.revisions(), is(LongStream.rangeClosed(start + 1, last).boxed().toList()));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void malformedFramesDisturbNoOtherClient() throws Exception {
        byte[][] badFrames = {
                {(byte) 0x81, 0x05, 'h', 'e', 'l', 'l', 'o'},              // unmasked client frame
                {(byte) 0x83, (byte) 0x80, 1, 2, 3, 4},                     // reserved opcode 3
                {(byte) 0xF1, (byte) 0x80, 1, 2, 3, 4},                     // RSV bits set
                {(byte) 0x89, (byte) 0xFE, 0x01, 0x00, 1, 2, 3, 4},         // ping longer than 125 bytes
                {(byte) 0x81, (byte) 0xFF, 0x7F, -1, -1, -1, -1, -1, -1, -1} // absurd 64-bit length
        };
        try (WsClient bystander = connectLive(wsA, "")) {
            for (byte[] frame : badFrames) {
                try (java.net.Socket socket = new java.net.Socket("127.0.0.1", wsA.port())) {
                    // Either the server ends this connection or it ignores the frame and keeps it open: both are
                    // fine; what matters is that nothing else is disturbed.
                    socket.setSoTimeout(2_000);
                    var out = socket.getOutputStream();
                    out.write(RawHttp.upgrade("/events", "").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                    out.write(frame);
                    out.flush();
                    var in = socket.getInputStream();
                    byte[] buffer = new byte[8192];
                    int total = 0;
                    try {
                        for (int n = in.read(buffer); n != -1; n = in.read(buffer)) {
                            total += n;
                        }
                    } catch (java.net.SocketTimeoutException stillOpen) {
                        // ignored frame, open connection
                    }
                    assertThat("the upgrade was answered", total > 0, is(true));
                }
            }
            long revision = KvHttp.put(writer.port(), "after-bad-frames", "still streaming");
            await().atMost(WAIT).until(() -> bystander.revisions().contains(revision));
            try (WsClient newcomer = connectLive(wsA, "since=" + (revision - 1))) {
                await().atMost(WAIT).until(() -> newcomer.revisions().contains(revision));
            }
        }
    }

    /** RFC 6455 §5.2: a frame with a reserved opcode is a protocol error, answered with close 1002, never HTTP. */
    @Test
    void reservedOpcodeIsClosedWithProtocolError() throws Exception {
        for (int opcode : new int[] {0x3, 0xB}) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", wsA.port())) {
                socket.setSoTimeout(15_000);
                var out = socket.getOutputStream();
                out.write(RawHttp.upgrade("/events", "").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                out.write(new byte[] {(byte) (0x80 | opcode), (byte) 0x80, 1, 2, 3, 4}); // masked, empty payload
                out.flush();
                byte[] received = RawHttp.readAll(socket.getInputStream());
                String text = new String(received, java.nio.charset.StandardCharsets.ISO_8859_1);
                assertThat(text.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), is(true));
                int frames = text.indexOf("\r\n\r\n") + 4;
                assertThat("no HTTP inside the upgraded stream", text.indexOf("HTTP/1.1", frames), is(-1));
                assertThat("opcode " + opcode, closeCode(received, frames), is(1002));
            }
        }
    }

    /**
     * A client of the stream sends only control frames, so a frame longer than {@code EventsEndpoint.MAX_CLIENT_FRAME}
     * is refused with close 1009 as soon as its header is read: a connection that stops mid-frame pins no more than
     * that (Helidon would otherwise hold up to a MiB of its payload).
     */
    @Test
    void aFrameLongerThanAnyAClientSendsIsClosedWithTooBigBeforeItsPayload() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", wsA.port())) {
            socket.setSoTimeout(15_000);
            var out = socket.getOutputStream();
            out.write(RawHttp.upgrade("/events", "").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            // A masked binary frame that says 65,536 bytes follow; none of them is sent.
            out.write(new byte[] {(byte) 0x82, (byte) 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4});
            out.flush();
            byte[] received = RawHttp.readAll(socket.getInputStream());
            String text = new String(received, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertThat(text.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), is(true));
            assertThat(closeCode(received, text.indexOf("\r\n\r\n") + 4), is(1009));
        }
    }

    /** The status code of the first close frame among the server's (unmasked) frames, -1 if there is none. */
    private static int closeCode(byte[] bytes, int offset) {
        int i = offset;
        while (i + 2 <= bytes.length) {
            int opcode = bytes[i] & 0x0F;
            int length = bytes[i + 1] & 0x7F;
            int header = 2;
            if (length == 126) {
                length = (bytes[i + 2] & 0xFF) << 8 | bytes[i + 3] & 0xFF;
                header = 4;
            }
            if (opcode == 0x8) {
                return length >= 2 ? (bytes[i + header] & 0xFF) << 8 | bytes[i + header + 1] & 0xFF : -1;
            }
            i += header + length;
        }
        return -1;
    }

    /** The worker hands its events to the relay in memory; a replay reads them back from the table. */
    @Test
    void replayedEventIsTheLiveEventByteForByte() {
        long current = KvHttp.put(writer.port(), "same-bytes", "x");
        try (WsClient live = WsClient.connect(WsClient.events(wsA.port(), "since=" + current))) {
            long next = KvHttp.put(writer.port(), "same-bytes", "y\u00e9\"\n");
            await().atMost(WAIT).until(() -> live.revisions().contains(next));
            try (WsClient replay = WsClient.connect(WsClient.events(wsB.port(), "since=" + current))) {
                await().atMost(WAIT).until(() -> replay.revisions().contains(next));
                assertThat(replay.ofType("domain_event"), is(live.ofType("domain_event")));
            }
        }
    }

    @Test
    void sinceEqualToCurrentRevisionSendsOnlyNewEvents() {
        long current = KvHttp.put(writer.port(), "current", "x");
        try (WsClient client = WsClient.connect(WsClient.events(wsA.port(), "since=" + current))) {
            long next = KvHttp.put(writer.port(), "current", "y");
            await().atMost(WAIT).until(() -> !client.revisions().isEmpty());
            assertThat(client.revisions(), is(List.of(next)));
        }
    }

    @Test
    void connectionEventsReachClientsOfEveryWebSocketProcess() {
        try (WsClient x = connectLive(wsA, "")) {
            String xId = x.openedIds().getFirst();
            WsClient y = WsClient.connect(WsClient.events(wsB.port(), ""));
            await().atMost(WAIT).until(() -> y.openedIds().stream().anyMatch(id -> !id.equals(xId)));
            String yId = y.openedIds().stream().filter(id -> !id.equals(xId)).findFirst().orElseThrow();

            await().atMost(WAIT).until(() -> x.openedIds().contains(yId));
            assertThat(x.ofType("connection_opened"), hasItem(
                    "{\"type\":\"connection_opened\",\"route\":\"events\",\"from\":\"" + yId + "\",\"value\":\"Connection opened\"}"));

            y.close();
            String closed = "{\"type\":\"connection_closed\",\"route\":\"events\",\"from\":\"" + yId
                            + "\",\"value\":\"Connection closed\"}";
            await().atMost(WAIT).until(() -> x.ofType("connection_closed").contains(closed));
        }
    }

    /** A queue of 4 messages: big values fill the socket buffers of a client that does not read, then its queue. */
    @Test
    void slowClientIsDisconnectedWhileOthersGetEverything() {
        Settings.Ws smallQueue = new Settings.Ws(4, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofHours(1), "");
        dropsTheClientThatDoesNotReadWhileTheOtherGetsEverything(smallQueue, "big-", 40, (slow, written) -> {
            // What the slow client gets when it finally reads: part of the stream, then the end of the connection.
            slow.webSocket().request(Long.MAX_VALUE);
            await().atMost(WAIT).until(slow.closed::isDone);
            assertThat(slow.revisions().size(), lessThan(written.size()));
        });
    }

    /**
     * The bound of all clients together: with a queue of 64 MiB each allowed but 2 MiB in all, a client that does not
     * read is dropped once it is behind and the total is past 2 MiB, long before its own bound.
     */
    @Test
    void aClientBehindWhileAllQueuesTogetherPassTheirBoundIsDropped() {
        Settings.Ws smallTotal = new Settings.Ws(1024, 64 * 1024 * 1024, 2 * 1024 * 1024, 16, Duration.ofHours(1), "");
        dropsTheClientThatDoesNotReadWhileTheOtherGetsEverything(smallTotal, "total-", 24, (slow, written) -> { });
    }

    /**
     * Writes {@code writes} values of 512 KiB while one client reads and another does not: the reader gets every
     * revision, the other is dropped (its close announced); then {@code afterwards} with that client and the revisions.
     */
    private static void dropsTheClientThatDoesNotReadWhileTheOtherGetsEverything(
            Settings.Ws ws, String keyPrefix, int writes, java.util.function.BiConsumer<WsClient, List<Long>> afterwards) {
        try (TestNode node = TestNode.start(settings(Settings.Role.WEBSOCKET).toBuilder().ws(ws).build());
             WsClient normal = connectLive(node, "")) {
            String normalId = normal.openedIds().getFirst();
            WsClient slow = WsClient.connect(WsClient.events(node.port(), ""), false, Map.of());
            await().atMost(WAIT).until(() -> normal.openedIds().size() == 2);
            String slowId = normal.openedIds().stream().filter(id -> !id.equals(normalId)).findFirst().orElseThrow();

            String big = "x".repeat(512 * 1024);
            List<Long> written = IntStream.range(0, writes).mapToObj(i -> KvHttp.put(writer.port(), keyPrefix + i, big))
                    .toList();

            // Tens of MB through the whole pipeline: generous waits, a loaded CI machine is slow at this.
            await().atMost(WAIT.multipliedBy(3)).until(() -> normal.revisions().size() == written.size());
            assertThat(normal.revisions(), is(written));
            String slowClosed = "{\"type\":\"connection_closed\",\"route\":\"events\",\"from\":\"" + slowId
                                + "\",\"value\":\"Connection closed\"}";
            await().atMost(WAIT.multipliedBy(3)).until(() -> normal.ofType("connection_closed").contains(slowClosed));
            afterwards.accept(slow, written);
            slow.abort();
        }
    }

    @Test
    void sinceOlderThanRetentionAsksForResync() {
        Settings base = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("wsret"),
                                              TestServices.uniqueName("wsret"));
        // Keep 5 revisions, compact every 10: the 15 writes below cross one compaction.
        Settings small = base.toBuilder().events(new Settings.Events(5, 10)).build();
        try (TestNode node = TestNode.start(small);
             Database database = Database.open(small.db(), "wsret-test")) {
            for (int i = 0; i < 15; i++) {
                KvHttp.put(node.port(), "r" + i, "v");
            }
            EventLog log = new EventLog(database);
            await().atMost(WAIT).until(() -> log.compactedRevision() > 1);
            long current = log.committedRevision();
            await().atMost(WAIT).until(() -> node.revision() == current);

            try (WsClient client = WsClient.connect(WsClient.events(node.port(), "since=1"))) {
                await().atMost(WAIT).until(client.closed::isDone);
                assertThat(client.messages, contains(
                        "{\"type\":\"resync_required\",\"route\":\"events\",\"revision\":" + current + "}"));
                assertThat(client.closed.join(), is(1000));
                assertThat(client.closeReason, is("Resync required"));
            }
        }
    }

    @Test
    void sinceAheadOfEveryStoredRevisionAsksForResync() {
        long current = KvHttp.put(writer.port(), "ahead", "x");
        try (WsClient client = WsClient.connect(WsClient.events(wsA.port(), "since=" + (current + 1_000_000)))) {
            await().atMost(WAIT).until(client.closed::isDone);
            assertThat(client.ofType("resync_required").size(), is(1));
            assertThat(client.closed.join(), is(1000));
        }
    }

    @Test
    void badSinceGetsAnErrorAndPolicyClose() {
        for (String since : List.of("abc", "-1", "", "1.5", "99999999999999999999")) {
            try (WsClient client = WsClient.connect(WsClient.events(wsA.port(), "since=" + since))) {
                await().atMost(WAIT).until(client.closed::isDone);
                assertThat(client.messages, contains(
                        "{\"type\":\"error\",\"route\":\"events\",\"value\":\"since must be a non-negative integer revision\"}"));
                assertThat(client.closed.join(), is(1008));
                assertThat(client.closeReason, is("since must be a non-negative integer revision"));
            }
        }
    }

    @Test
    void heartbeatPingsIdleClientsAndDropsOnesThatNeverAnswer() {
        Settings.Ws fastHeartbeat = new Settings.Ws(1024, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofMillis(200), "");
        try (TestNode node = TestNode.start(settings(Settings.Role.WEBSOCKET).toBuilder().ws(fastHeartbeat).build());
             WsClient client = connectLive(node, "")) {
            String clientId = client.openedIds().getFirst();
            WsClient silent = WsClient.connect(WsClient.events(node.port(), ""), false, Map.of());
            await().atMost(WAIT).until(() -> client.openedIds().size() == 2);
            String silentId = client.openedIds().stream().filter(id -> !id.equals(clientId)).findFirst().orElseThrow();

            await().atMost(WAIT).until(() -> client.pings.get() >= 5);
            await().atMost(WAIT).until(() -> client.ofType("connection_closed").contains(
                    "{\"type\":\"connection_closed\",\"route\":\"events\",\"from\":\"" + silentId
                    + "\",\"value\":\"Connection closed\"}"));
            assertThat(client.closed.isDone(), is(false));
            silent.abort();
        }
    }

    /**
     * A WebSocket process that dies without closing its connections (SIGKILL) announced them in its last roster or
     * when they opened: once it has been silent for three heartbeats, every other process closes them for its own
     * clients, once each. A process that leaves cleanly (its connections already announced closed) causes no extra
     * close.
     */
    @Test
    void connectionsOfASilentProcessAreAnnouncedClosedOnce() throws Exception {
        Settings.Ws fastHeartbeat = new Settings.Ws(1024, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofMillis(200), "");
        Settings settings = settings(Settings.Role.WEBSOCKET).toBuilder().ws(fastHeartbeat).build();
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(settings.amqp().uri());
        try (TestNode node = TestNode.start(settings);
             WsClient client = connectLive(node, "");
             Connection connection = factory.newConnection("dead-process");
             Channel channel = connection.createChannel()) {
            String exchange = new Names(settings.amqp().namePrefix()).presenceExchange();
            AMQP.BasicProperties roster = new AMQP.BasicProperties.Builder().type(PresenceChannel.ROSTER_TYPE).build();
            channel.basicPublish(exchange, "", null, Json.write(Envelope.connectionOpened("gone-1")));
            channel.basicPublish(exchange, "", roster,
                                 Json.write(new PresenceChannel.Roster("dead", List.of("gone-1", "gone-2"), 200, false)));
            channel.basicPublish(exchange, "", roster,
                                 Json.write(new PresenceChannel.Roster("left", List.of("left-1"), 200, false)));
            // A process that died before its first roster: only its announcement says the connection was its.
            AMQP.BasicProperties ghost = new AMQP.BasicProperties.Builder()
                    .headers(Map.of(PresenceChannel.PROCESS_HEADER, "ghost", PresenceChannel.EVERY_HEADER, 200L)).build();
            channel.basicPublish(exchange, "", ghost, Json.write(Envelope.connectionOpened("ghost-1")));
            // gone-2 closes normally before its process dies; left-1's process closes it and leaves.
            channel.basicPublish(exchange, "", null, Json.write(Envelope.connectionClosed("gone-2")));
            channel.basicPublish(exchange, "", null, Json.write(Envelope.connectionClosed("left-1")));
            channel.basicPublish(exchange, "", roster, Json.write(new PresenceChannel.Roster("left", List.of(), 0, true)));

            await().atMost(WAIT).until(() -> client.ofType("connection_closed").containsAll(
                    List.of(closed("gone-1"), closed("ghost-1"))));
            assertThat(client.ofType("connection_closed").stream().filter(closed("gone-2")::equals).count(), is(1L));
            assertThat(client.ofType("connection_closed").stream().filter(closed("left-1")::equals).count(), is(1L));
        }
    }

    private static String closed(String id) {
        return Envelope.connectionClosed(id).json();
    }

    @Test
    void originNotAllowedIsRefusedWith403() {
        Settings.Ws onlyAllowed = new Settings.Ws(1024, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofSeconds(20), "http://allowed.example, https://also.example");
        try (TestNode node = TestNode.start(settings(Settings.Role.WEBSOCKET).toBuilder().ws(onlyAllowed).build())) {
            CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                    () -> WsClient.connect(WsClient.events(node.port(), ""), true, Map.of("Origin", "http://evil.example")));
            assertThat(refused.getCause(), instanceOf(WebSocketHandshakeException.class));
            assertThat(((WebSocketHandshakeException) refused.getCause()).getResponse().statusCode(), is(403));

            try (WsClient allowed = WsClient.connect(WsClient.events(node.port(), ""), true,
                                                     Map.of("Origin", "https://also.example"))) {
                await().atMost(WAIT).until(() -> !allowed.openedIds().isEmpty());
            }
        }
    }

    @Test
    void shutdownClosesClientsWithGoingAway() {
        TestNode node = TestNode.start(settings(Settings.Role.WEBSOCKET));
        try (WsClient client = connectLive(node, "")) {
            node.stopStreams();
            await().atMost(WAIT).until(client.closed::isDone);
            assertThat(client.closed.join(), is(1001));
            assertThat(client.closeReason, is("Server shutting down"));
            assertThat(client.error, is(nullValue()));
        } finally {
            node.close();
        }
    }
}
