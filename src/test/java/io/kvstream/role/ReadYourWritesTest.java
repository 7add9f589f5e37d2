package io.kvstream.role;

import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.HttpProbe;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * {@link ListenerOrder} as a client sees it: in an {@code all} process, a change is readable from the process the
 * moment its writer is answered and the moment a {@code /events} client hears of it.
 */
class ReadYourWritesTest {
    private static final int WRITES = 200;

    @Test
    void aChangeIsReadableHereWhenItsWriterIsAnsweredAndWhenTheStreamTellsOfIt() throws Exception {
        try (TestNode node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("ryw"),
                                                                  TestServices.uniqueName("ryw")))) {
            HttpProbe probe = node.probe();
            List<String> readWhenHeard = new CopyOnWriteArrayList<>();
            WebSocket.Listener readsAtOnce = new WebSocket.Listener() {
                private final StringBuilder partial = new StringBuilder();

                @Override
                public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                    partial.append(data);
                    if (!last) {
                        webSocket.request(1);
                        return null;
                    }
                    JsonNode message = Json.read(partial.toString(), JsonNode.class);
                    partial.setLength(0);
                    if ("domain_event".equals(message.path("type").asText())) {
                        String key = message.path("event").path("key").asText();
                        // Read on the listener's own thread, before the next message is even asked for.
                        readWhenHeard.add(key + "=" + probe.value(key).map(e -> e.value()).orElse("<missing>"));
                    }
                    webSocket.request(1);
                    return null;
                }

                @Override
                public void onError(WebSocket webSocket, Throwable error) {
                    readWhenHeard.add("error: " + error);
                }
            };
            WebSocket stream = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(WsClient.events(node.port(), ""), readsAtOnce).orTimeout(10, TimeUnit.SECONDS).join();
            try {
                for (int i = 0; i < WRITES; i++) {
                    KvHttp.put(node.port(), "ryw-" + i, "v" + i);
                    assertThat("read right after the answer", probe.value("ryw-" + i).orElseThrow().value(), is("v" + i));
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> readWhenHeard.size() >= WRITES);
                assertThat(readWhenHeard.toString(), readWhenHeard.size(), is(WRITES));
                for (int i = 0; i < WRITES; i++) {
                    assertThat(readWhenHeard.get(i), is("ryw-" + i + "=v" + i));
                }
            } finally {
                stream.abort();
            }
        }
    }
}
