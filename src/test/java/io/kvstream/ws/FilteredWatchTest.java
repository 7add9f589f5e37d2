package io.kvstream.ws;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import io.kvstream.config.Settings;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.is;

/**
 * {@code /events?prefix=P} and {@code /events?key=K} on the WebSocket: one {@code all} node takes the writes, two
 * {@code websocket} nodes stream them, as separate pods would.
 */
class FilteredWatchTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static TestNode writer;
    private static TestNode wsA;
    private static TestNode wsB;

    @BeforeAll
    static void start() {
        TestDeployment deployment = TestDeployment.fresh("watch");
        writer = deployment.start(Settings.Role.ALL);
        wsA = deployment.start(Settings.Role.WEBSOCKET);
        wsB = deployment.start(Settings.Role.WEBSOCKET);
    }

    @AfterAll
    static void stop() {
        for (TestNode node : new TestNode[] {wsB, wsA, writer}) {
            if (node != null) {
                node.close();
            }
        }
    }

    private static WsClient connectLive(TestNode node, String query) {
        return WsClient.connectLive(WsClient.events(node.port(), query));
    }

    @Test
    void prefixAndKeyDeliverOnlyMatchingEventsOnEveryProcessAndAllConnectionEvents() {
        try (WsClient byPrefix = connectLive(wsA, "prefix=user:");
             WsClient byKey = connectLive(wsB, "key=user:1");
             WsClient other = connectLive(wsB, "")) {
            long first = KvHttp.put(writer.port(), "user:1", "ann");
            long order = KvHttp.put(writer.port(), "order:1", "book");
            long second = KvHttp.put(writer.port(), "user:2", "bob");
            long user10 = KvHttp.put(writer.port(), "user:10", "cid");
            long deleted = KvHttp.delete(writer.port(), "user:1");

            await().atMost(WAIT).until(() -> other.revisions().contains(deleted) && byPrefix.revisions().contains(deleted)
                                             && byKey.revisions().contains(deleted));
            assertThat(byPrefix.revisions(), contains(first, second, user10, deleted));
            assertThat(byPrefix.keys(), contains("user:1", "user:2", "user:10", "user:1"));
            assertThat(byKey.revisions(), contains(first, deleted));
            // wsB may still have been applying an earlier test's writes when the unfiltered watcher registered
            assertThat(other.revisions().stream().filter(r -> r >= first).toList(),
                       contains(first, order, second, user10, deleted));
            // Connection events are not filtered: the prefix watcher on A sees the key watcher on B open (presence
            // travels on its own exchange, so it may come after the domain events).
            String byKeyId = byKey.openedIds().getFirst();
            await().atMost(WAIT).until(() -> byPrefix.openedIds().contains(byKeyId));
        }
    }

    @Test
    void sinceWithPrefixReplaysOnlyMatchingEventsWithoutGapOrDuplicateThenStreamsLive() throws Exception {
        long since = KvHttp.put(writer.port(), "replay:start", "x");
        List<Long> expected = new CopyOnWriteArrayList<>();
        IntStream.range(0, 20).forEach(i -> {
            long revision = KvHttp.put(writer.port(), (i % 3 == 0 ? "replay:in:" : "replay:out:") + i, "v" + i);
            if (i % 3 == 0) {
                expected.add(revision);
            }
        });
        // Writes keep coming while the client replays and switches to live.
        Thread writes = Thread.ofVirtual().start(() -> IntStream.range(20, 60).forEach(i -> {
            long revision = KvHttp.put(writer.port(), (i % 3 == 0 ? "replay:in:" : "replay:out:") + i, "v" + i);
            if (i % 3 == 0) {
                expected.add(revision);
            }
        }));
        try (WsClient client = WsClient.connect(WsClient.events(wsB.port(), "since=" + since + "&prefix=replay:in:"))) {
            writes.join();
            long last = KvHttp.put(writer.port(), "replay:in:last", "end");
            expected.add(last);

            await().atMost(WAIT).until(() -> client.revisions().contains(last));
            assertThat(client.revisions(), is(expected.stream().sorted().toList()));
        }
    }

    @Test
    void percentEncodedUtf8PrefixMatchesDecodedKeys() {
        try (WsClient client = connectLive(wsA, "prefix=caf%C3%A9%20")) {
            KvHttp.put(writer.port(), "cafe au lait", "no");
            long match = KvHttp.put(writer.port(), "café crème", "yes");

            await().atMost(WAIT).until(() -> client.revisions().contains(match));
            assertThat(client.keys(), contains("café crème"));
        }
    }

    @Test
    void aPlusInTheFilterIsASpaceAsInEveryFormEncoding() {
        try (WsClient client = connectLive(wsA, "prefix=tea+")) {
            KvHttp.put(writer.port(), "tea+milk", "no");
            long match = KvHttp.put(writer.port(), "tea time", "yes");

            await().atMost(WAIT).until(() -> client.revisions().contains(match));
            assertThat(client.keys(), contains("tea time"));
        }
    }

    @Test
    void invalidFiltersGetAnErrorMessageAndPolicyClose() {
        assertRefused("prefix=a&key=b", "prefix and key cannot be used together");
        assertRefused("key=%FF", "key is not valid UTF-8");
        assertRefused("prefix=a%2Fb", "prefix cannot contain '/'");
        assertRefused("key=", "key is empty");
        assertRefused("key=" + "k".repeat(257), "key is at most 256 bytes of UTF-8");
        assertRefused("prefix=a&prefix=b", "Send prefix once");
        assertRefused("key=a&key=b", "Send key once");
        assertRefused("since=1&since=2", "Send since once");
    }

    private static void assertRefused(String query, String message) {
        try (WsClient client = WsClient.connect(WsClient.events(wsA.port(), query))) {
            await().atMost(WAIT).until(() -> client.closed.isDone());
            assertThat(client.ofType("error"), contains(
                    "{\"type\":\"error\",\"route\":\"events\",\"value\":\"" + message + "\"}"));
            assertThat(client.closed.join(), is(1008));
        }
    }
}
