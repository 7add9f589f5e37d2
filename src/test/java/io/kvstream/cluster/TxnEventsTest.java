package io.kvstream.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.TxnHttp;
import io.kvstream.testing.WsClient;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * On {@code /events}, live and replayed, the changes of a transaction carry {@code "txn":"<command id>"} and arrive
 * one after the other with consecutive revisions, while single writes go on around them.
 */
class TxnEventsTest {
    private static final int TRANSACTIONS = 20;

    @Test
    void theChangesOfATransactionCarryItsIdAndArriveConsecutively() throws Exception {
        try (TestNode node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("txnev"),
                                                                  TestServices.uniqueName("txnev")));
             WsClient live = WsClient.connect(WsClient.events(node.port(), ""))) {
            AtomicBoolean writing = new AtomicBoolean(true);
            Thread singles = Thread.ofVirtual().start(() -> {
                for (int i = 0; writing.get(); i++) {
                    KvHttp.put(node.port(), "single-" + (i % 5), "v" + i);
                }
            });
            for (int i = 0; i < TRANSACTIONS; i++) {
                TxnHttp.txn(node.port(), "{\"success\":[" + TxnHttp.put("t-a", "a" + i) + "," + TxnHttp.put("t-b", "b" + i)
                                         + "," + TxnHttp.put("t-c", "c" + i) + "]}");
            }
            writing.set(false);
            singles.join();
            long last = node.revision();
            await().until(() -> !live.revisions().isEmpty() && live.revisions().getLast() == last);

            assertTransactionsWhole(events(live));
            try (WsClient replay = WsClient.connect(WsClient.events(node.port(), "since=0"))) {
                await().until(() -> !replay.revisions().isEmpty() && replay.revisions().getLast() == last);
                assertTransactionsWhole(events(replay));
            }
        }
    }

    private static List<JsonNode> events(WsClient client) {
        return client.ofType("domain_event").stream().map(m -> WsClient.node(m).path("event")).toList();
    }

    /** Every transaction's three changes are next to each other, in order, with consecutive revisions. */
    private static void assertTransactionsWhole(List<JsonNode> events) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < events.size(); i++) {
            JsonNode event = events.get(i);
            if (!event.has("txn")) {
                assertThat(event.toString(), event.path("key").asText().startsWith("single-"), is(true));
                continue;
            }
            String txn = event.path("txn").asText();
            assertThat("each transaction once: " + txn, seen.add(txn), is(true));
            List<String> keys = new ArrayList<>();
            for (int j = 0; j < 3; j++) {
                JsonNode change = events.get(i + j);
                assertThat(change.toString(), change.path("txn").asText(), is(txn));
                assertThat(change.toString(), change.path("revision").asLong(), is(event.path("revision").asLong() + j));
                keys.add(change.path("key").asText());
            }
            assertThat(keys, is(List.of("t-a", "t-b", "t-c")));
            i += 2;
        }
        assertThat(seen.size(), is(TRANSACTIONS));
    }
}
