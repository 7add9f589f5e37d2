package io.kvstream.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.wire.Json;

import static org.awaitility.Awaitility.await;

/**
 * A JDK {@link WebSocket} client that records what it receives. A "reading" client asks for the next message as
 * soon as one arrives; a non-reading one never asks, so the JDK stops reading its socket (a stuck browser tab).
 */
public final class WsClient implements WebSocket.Listener, AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    public final List<String> messages = new CopyOnWriteArrayList<>();
    public final AtomicInteger pings = new AtomicInteger();
    public final CompletableFuture<Integer> closed = new CompletableFuture<>();
    public volatile String closeReason;
    public volatile Throwable error;
    private final boolean reading;
    private final StringBuilder partial = new StringBuilder();
    private WebSocket webSocket;

    private WsClient(boolean reading) {
        this.reading = reading;
    }

    public static WsClient connect(URI uri) {
        return connect(uri, true, Map.of());
    }

    public static WsClient connect(URI uri, boolean reading, Map<String, String> headers) {
        WsClient client = new WsClient(reading);
        WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(builder::header);
        client.webSocket = builder.buildAsync(uri, client).orTimeout(10, TimeUnit.SECONDS).join();
        return client;
    }

    /** Connects and waits until the server has registered the client (its own connection_opened came back). */
    public static WsClient connectLive(URI uri) {
        WsClient client = connect(uri);
        await().atMost(Duration.ofSeconds(20)).until(() -> !client.openedIds().isEmpty());
        return client;
    }

    public static URI events(int port, String query) {
        return URI.create("ws://127.0.0.1:" + port + "/events" + (query.isEmpty() ? "" : "?" + query));
    }

    public WebSocket webSocket() {
        return webSocket;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        if (reading) {
            webSocket.request(1);
        }
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            messages.add(partial.toString());
            partial.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        pings.incrementAndGet();
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closeReason = reason;
        closed.complete(statusCode);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        this.error = error;
        closed.complete(-1);
    }

    /** Received messages of one type, in arrival order. */
    public List<String> ofType(String type) {
        return messages.stream().filter(m -> type.equals(node(m).path("type").asText())).toList();
    }

    /** Revisions of the received domain events, in arrival order. */
    public List<Long> revisions() {
        return ofType("domain_event").stream().map(m -> node(m).path("event").path("revision").asLong()).toList();
    }

    /** Keys of the received domain events, in arrival order. */
    public List<String> keys() {
        return ofType("domain_event").stream().map(m -> node(m).path("event").path("key").asText()).toList();
    }

    /** The connection ids of the received {@code connection_opened} events, in arrival order. */
    public List<String> openedIds() {
        return ofType("connection_opened").stream().map(m -> node(m).path("from").asText()).toList();
    }

    public static JsonNode node(String json) {
        return Json.read(json, JsonNode.class);
    }

    @Override
    public void close() {
        if (!webSocket.isOutputClosed()) {
            webSocket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        }
        webSocket.request(Long.MAX_VALUE);
    }

    public void abort() {
        webSocket.abort();
    }
}
