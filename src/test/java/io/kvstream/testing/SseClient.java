package io.kvstream.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.awaitility.Awaitility.await;

/**
 * A JDK {@link HttpClient} reading {@code GET /events} as Server-Sent Events: it records every line as received,
 * and the events they make up.
 */
public final class SseClient implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** One event: its {@code id} (null without), {@code event} name and {@code data}. */
    public record Event(String id, String event, String data) {
    }

    public final List<String> lines = new CopyOnWriteArrayList<>();
    public final List<Event> events = new CopyOnWriteArrayList<>();
    /** Completes when the server ends the stream. */
    public final CompletableFuture<Void> ended = new CompletableFuture<>();
    private final HttpResponse<Stream<String>> response;
    private final Thread reader;

    private SseClient(HttpResponse<Stream<String>> response) {
        this.response = response;
        this.reader = Thread.ofVirtual().start(this::read);
    }

    /** Opens {@code /events?query} with {@code Accept: text/event-stream} and the given extra headers. */
    public static SseClient connect(int port, String query, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(events(port, query))
                .timeout(Duration.ofSeconds(10))
                .header("Accept", "text/event-stream");
        headers.forEach(request::header);
        try {
            return new SseClient(HTTP.send(request.GET().build(), HttpResponse.BodyHandlers.ofLines()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static SseClient connect(int port, String query) {
        return connect(port, query, Map.of());
    }

    /** Connects and waits until the server has registered the client (its own connection_opened came back). */
    public static SseClient connectLive(int port, String query) {
        SseClient client = connect(port, query);
        await().atMost(Duration.ofSeconds(20)).until(() -> !client.openedIds().isEmpty());
        return client;
    }

    public static URI events(int port, String query) {
        return URI.create("http://127.0.0.1:" + port + "/events" + (query.isEmpty() ? "" : "?" + query));
    }

    public HttpResponse<Stream<String>> response() {
        return response;
    }

    private void read() {
        List<String> pending = new ArrayList<>();
        try (Stream<String> body = response.body()) {
            body.forEach(line -> {
                lines.add(line);
                if (!line.isEmpty()) {
                    pending.add(line);
                    return;
                }
                String id = null;
                String event = null;
                String data = null;
                for (String field : pending) {
                    if (field.startsWith("id: ")) {
                        id = field.substring(4);
                    } else if (field.startsWith("event: ")) {
                        event = field.substring(7);
                    } else if (field.startsWith("data: ")) {
                        data = field.substring(6);
                    }
                }
                pending.clear();
                if (data != null) {
                    events.add(new Event(id, event, data));
                }
            });
        } catch (RuntimeException e) {
            // closed by the test or dropped by the server
        } finally {
            ended.complete(null);
        }
    }

    public List<Event> ofType(String event) {
        return events.stream().filter(e -> event.equals(e.event())).toList();
    }

    /** Revisions of the domain events, from their {@code id} lines. */
    public List<Long> revisions() {
        return ofType("domain_event").stream().map(e -> Long.parseLong(e.id())).toList();
    }

    /** The keys of the domain events, in arrival order. */
    public List<String> keys() {
        return ofType("domain_event").stream()
                .map(e -> WsClient.node(e.data()).path("event").path("key").asText()).toList();
    }

    /** The connection ids of the received {@code connection_opened} events. */
    public List<String> openedIds() {
        return ofType("connection_opened").stream().map(e -> WsClient.node(e.data()).path("from").asText()).toList();
    }

    @Override
    public void close() {
        reader.interrupt();
        try {
            response.body().close();
        } catch (RuntimeException e) {
            // already closed
        }
    }
}
