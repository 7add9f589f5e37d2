package io.kvstream.role;

import java.util.List;

import io.kvstream.api.ApiErrorHandlers;
import io.kvstream.api.ApiMetrics;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.event.EventSequencer;
import io.kvstream.ws.EventsEndpoint;

/**
 * The WebSocket role ({@code kvstream.role=websocket}): streams the events on {@code /events}. It keeps no replica;
 * its live stream starts where the stored history ends.
 */
public final class WebSocketRole {
    private WebSocketRole() {
    }

    public static RunningRole start(Settings settings) {
        return RunningRole.assemble(settings, parts -> {
            EventSequencer feed = parts.subscribe();
            EventsEndpoint stream = parts.stream(feed, new Authenticator(settings.auth()));
            ListenerOrder.listen(feed, null, null, stream);
            feed.start(parts.committedRevision().getAsLong(), parts.committedRevision());
            // The API's JSON errors, for a refused /events upgrade (401) and unknown paths.
            return new RunningRole.Serving(routing -> ApiErrorHandlers.register(routing, new ApiMetrics()), stream,
                                           parts.servingReadiness(null), List.of());
        });
    }
}
