package io.kvstream.ws;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code GET /events} with {@code Accept: text/event-stream}: one {@code all} node takes the writes, a
 * {@code websocket} node streams them as Server-Sent Events.
 */
class ServerSentEventsTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static String schema;
    private static String prefix;
    private static TestNode writer;
    private static TestNode sse;

    @BeforeAll
    static void start() {
        schema = TestServices.uniqueName("sse");
        prefix = TestServices.uniqueName("sse");
        writer = TestNode.start(settings(Settings.Role.ALL));
        sse = TestNode.start(settings(Settings.Role.WEBSOCKET));
    }

    @AfterAll
    static void stop() {
        for (TestNode node : new TestNode[] {sse, writer}) {
            if (node != null) {
                node.close();
            }
        }
    }

    private static Settings settings(Settings.Role role) {
        return TestServices.settings(role, schema, prefix);
    }

    private static SseClient connectLive(TestNode node, String query) {
        return SseClient.connectLive(node.port(), query);
    }

    @Test
    void domainAndConnectionEventsArriveAsExactSseLines() {
        try (SseClient client = connectLive(sse, "")) {
            assertThat(client.response().statusCode(), is(200));
            assertThat(client.response().headers().firstValue("Content-Type").orElseThrow(), is("text/event-stream"));
            assertThat(client.response().headers().firstValue("X-Accel-Buffering").orElseThrow(), is("no"));
            assertThat(client.response().headers().firstValue("Cache-Control").orElseThrow(), is("no-cache"));
            String id = client.openedIds().getFirst();
            long put = KvHttp.put(writer.port(), "exact", "v\nw");
            long delete = KvHttp.delete(writer.port(), "exact");

            await().atMost(WAIT).until(() -> client.revisions().contains(delete));
            assertThat(Collections.indexOfSubList(client.lines, List.of(
                    "event: connection_opened",
                    "data: {\"type\":\"connection_opened\",\"route\":\"events\",\"from\":\"" + id
                    + "\",\"value\":\"Connection opened\"}",
                    "")), greaterThanOrEqualTo(0));
            assertThat(Collections.indexOfSubList(client.lines, List.of(
                    "id: " + put,
                    "event: domain_event",
                    "data: {\"type\":\"domain_event\",\"route\":\"events\",\"from\":\"Domain Event\","
                    + "\"value\":\"ValueHasBeenPut\",\"event\":{\"event\":\"value_put\",\"key\":\"exact\","
                    + "\"value\":\"v\\nw\",\"revision\":" + put + "}}",
                    "",
                    "id: " + delete,
                    "event: domain_event",
                    "data: {\"type\":\"domain_event\",\"route\":\"events\",\"from\":\"Domain Event\","
                    + "\"value\":\"ValueHasBeenDeleted\",\"event\":{\"event\":\"value_deleted\",\"key\":\"exact\","
                    + "\"revision\":" + delete + "}}",
                    "")), greaterThanOrEqualTo(0));
        }
    }

    @Test
    void curlReadsTheFilteredStream() throws Exception {
        Process curl = new ProcessBuilder("curl", "-N", "-s", "-H", "Accept: text/event-stream",
                                          "http://127.0.0.1:" + sse.port() + "/events?prefix=curl:")
                .redirectErrorStream(true).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(curl.getInputStream(),
                                                                                StandardCharsets.UTF_8))) {
                in.lines().forEach(lines::add);
            } catch (IOException | RuntimeException e) {
                // curl was stopped
            }
        });
        try {
            await().atMost(WAIT).until(() -> lines.contains("event: connection_opened"));
            KvHttp.put(writer.port(), "other", "no");
            long put = KvHttp.put(writer.port(), "curl:1", "yes");

            await().atMost(WAIT).until(() -> lines.contains("id: " + put));
            assertThat(lines.stream().filter(line -> line.startsWith("id: ")).toList(), contains("id: " + put));
            assertThat(lines.get(lines.indexOf("id: " + put) + 1), is("event: domain_event"));
            assertThat(lines.get(lines.indexOf("id: " + put) + 2),
                       startsWith("data: {\"type\":\"domain_event\",\"route\":\"events\",\"from\":\"Domain Event\","
                                  + "\"value\":\"ValueHasBeenPut\",\"event\":{\"event\":\"value_put\",\"key\":\"curl:1\""));
        } finally {
            curl.destroy();
            reader.join();
        }
    }

    @Test
    void lastEventIdResumesLikeSinceAndTheQueryParameterWins() {
        long first = KvHttp.put(writer.port(), "resume:a", "1");
        long second = KvHttp.put(writer.port(), "resume:b", "2");
        long third = KvHttp.put(writer.port(), "resume:c", "3");
        try (SseClient byHeader = SseClient.connect(sse.port(), "", Map.of("Last-Event-ID", String.valueOf(first)));
             SseClient queryWins = SseClient.connect(sse.port(), "since=" + second,
                                                     Map.of("Last-Event-ID", String.valueOf(first)))) {
            long live = KvHttp.put(writer.port(), "resume:d", "4");

            await().atMost(WAIT).until(() -> byHeader.revisions().contains(live) && queryWins.revisions().contains(live));
            assertThat(byHeader.revisions(), contains(second, third, live));
            assertThat(queryWins.revisions(), contains(third, live));
        }
    }

    @Test
    void prefixAndKeyFilterTheReplayAndTheLiveStream() {
        long since = KvHttp.put(writer.port(), "filter:start", "x");
        long user = KvHttp.put(writer.port(), "user:1", "ann");
        KvHttp.put(writer.port(), "order:1", "book");
        try (SseClient byPrefix = SseClient.connect(sse.port(), "since=" + since + "&prefix=user:");
             SseClient byKey = SseClient.connect(sse.port(), "since=" + since + "&key=user:2")) {
            long user2 = KvHttp.put(writer.port(), "user:2", "bob");
            KvHttp.put(writer.port(), "order:2", "pen");

            await().atMost(WAIT).until(() -> byPrefix.revisions().contains(user2) && byKey.revisions().contains(user2));
            assertThat(byPrefix.revisions(), contains(user, user2));
            assertThat(byKey.revisions(), contains(user2));
        }
    }

    @Test
    void badQueriesAreAnswered400InTheApiErrorFormat() throws Exception {
        for (String query : List.of("prefix=a&key=b", "since=-1", "key=%FF")) {
            HttpResponse<String> response = HTTP.send(
                    HttpRequest.newBuilder(SseClient.events(sse.port(), query)).header("Accept", "text/event-stream")
                            .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(query, response.statusCode(), is(400));
            assertThat(response.body(), startsWith("{\"error\":\"bad_request\",\"message\":\""));
        }
        HttpResponse<String> badId = HTTP.send(
                HttpRequest.newBuilder(SseClient.events(sse.port(), "")).header("Accept", "text/event-stream")
                        .header("Last-Event-ID", "x").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(badId.statusCode(), is(400));
        assertThat(badId.body(), startsWith(
                "{\"error\":\"bad_request\",\"message\":\"Last-Event-ID must be a non-negative integer revision\","));
    }

    @Test
    void aRevisionAheadOfTheLogGetsResyncRequiredThenTheStreamEnds() {
        long current;
        // the 200 means applied on the writer; a live reader shows when the streaming node has it too
        try (SseClient watcher = connectLive(sse, "")) {
            long put = KvHttp.put(writer.port(), "resync", "x");
            await().atMost(WAIT).until(() -> watcher.revisions().contains(put));
            current = put;
        }
        try (SseClient client = SseClient.connect(sse.port(), "since=" + (current + 1000))) {
            await().atMost(WAIT).until(() -> client.ended.isDone());
            assertThat(client.ofType("resync_required"), contains(new SseClient.Event(
                    null, "resync_required", "{\"type\":\"resync_required\",\"route\":\"events\",\"revision\":" + current + "}")));
        }
    }

    @Test
    void withProtectedReadsTheStreamNeedsAReadTokenAsHeaderOrAccessToken() throws Exception {
        String secret = "a-test-secret-long-enough-for-hs256-signing";
        Settings protectedReads = settings(Settings.Role.WEBSOCKET).toBuilder()
                .auth(new Settings.Auth(secret, "", "", Duration.ofSeconds(5), true, false, false)).build();
        String read = JWT.create().withClaim("scope", Authenticator.READ)
                .withExpiresAt(Instant.now().plusSeconds(60)).sign(Algorithm.HMAC256(secret));
        try (TestNode node = TestNode.start(protectedReads)) {
            HttpResponse<String> refused = HTTP.send(
                    HttpRequest.newBuilder(SseClient.events(node.port(), "")).header("Accept", "text/event-stream")
                            .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode(), is(401));
            assertThat(refused.headers().firstValue("WWW-Authenticate").orElseThrow(),
                       is("Bearer realm=\"kvstream\", error=\"invalid_token\""));
            assertThat(refused.body(), startsWith("{\"error\":\"unauthorized\","));

            try (SseClient withHeader = SseClient.connect(node.port(), "", Map.of("Authorization", "Bearer " + read));
                 SseClient withParameter = SseClient.connect(node.port(), "access_token=" + read)) {
                await().atMost(WAIT).until(() -> !withHeader.openedIds().isEmpty() && !withParameter.openedIds().isEmpty());
                assertThat(withHeader.response().statusCode(), is(200));
                assertThat(withParameter.response().statusCode(), is(200));
            }
        }
    }

    /** A reader that stops reading is dropped once a send to it has stalled for three heartbeats, as on the WebSocket. */
    @Test
    void readerThatStopsReadingIsDroppedWhileOthersGetEverything() throws Exception {
        try (TestNode node = TestNode.start(TestServices.withHeartbeat(settings(Settings.Role.WEBSOCKET),
                                                                       Duration.ofSeconds(1)));
             SseClient watcher = connectLive(node, "")) {
            String watcherId = watcher.openedIds().getFirst();
            long since = KvHttp.put(writer.port(), "slow:start", "x");
            List<Long> written = KvHttp.putLarge(writer.port(), "slow:", 12);

            try (Socket stuck = RawHttp.stuckReader(node.port(), "GET /events?since=" + since
                    + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")) {
                await().atMost(WAIT).until(() -> watcher.openedIds().size() == 2);
                String stuckId = watcher.openedIds().stream().filter(id -> !id.equals(watcherId)).findFirst().orElseThrow();

                await().atMost(WAIT.multipliedBy(3)).until(() -> watcher.ofType("connection_closed").stream()
                        .anyMatch(e -> e.data().contains("\"from\":\"" + stuckId + "\"")));
                stuck.setSoTimeout((int) WAIT.toMillis());
                assertThat(RawHttp.readsToTheEnd(stuck), is(true));
            }

            try (SseClient reader = SseClient.connect(node.port(), "since=" + since)) {
                await().atMost(WAIT.multipliedBy(3)).until(() -> reader.revisions().size() == written.size());
                assertThat(reader.revisions(), is(written));
            }
            long after = KvHttp.put(writer.port(), "slow:after", "small");
            await().atMost(WAIT).until(() -> watcher.revisions().contains(after));
            assertThat(watcher.ended.isDone(), is(false));
            assertThat(watcher.lines, hasItem(": ping"));
        }
    }

}
