package io.kvstream.ws;

import java.util.List;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;

/**
 * What an operator watches on a WebSocket process: connections (WebSocket and SSE) opened and closed (open now = opened - closed),
 * and the clients the server dropped, by reason ({@code slow}, {@code stalled}, {@code unresponsive}, {@code resync},
 * {@code shutdown}, {@code bad_request}, {@code busy}: every replay slot taken).
 */
final class WsMetrics {
    private WsMetrics() {
    }

    static void opened() {
        Metrics.getOrCreate(Counter.builder("kvstream.ws.opened")
                                    .description("WebSocket and SSE connections accepted on /events"))
                .increment();
    }

    static void closed() {
        Metrics.getOrCreate(Counter.builder("kvstream.ws.closed")
                                    .description("WebSocket and SSE connections on /events that ended"))
                .increment();
    }

    static void dropped(String reason) {
        Metrics.getOrCreate(Counter.builder("kvstream.ws.dropped")
                                    .description("WebSocket and SSE clients the server closed, by reason")
                                    .tags(List.of(Tag.create("reason", reason))))
                .increment();
    }
}
