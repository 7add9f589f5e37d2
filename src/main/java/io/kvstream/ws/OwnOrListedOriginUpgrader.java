package io.kvstream.ws;

import java.util.Optional;
import java.util.Set;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.spi.Http1RoutedUpgrade;
import io.helidon.webserver.http1.spi.Http1RoutedUpgrader;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.websocket.WsConfig;
import io.helidon.webserver.websocket.WsUpgrader;

/**
 * The WebSocket upgrade when {@code kvstream.ws.allowed-origins} is a list. Helidon's upgrader checks an
 * {@code Origin} either against a list or, without one, against the request's {@code Host}: a list alone would lock
 * the landing page out of the host it was served from. This one keeps both, with Helidon's own two upgraders: an
 * {@code Origin} on the list goes to the one built with the list, any other request to the one without, which
 * accepts the server's own origin (host and port equal to {@code Host}) and a request without {@code Origin}, and
 * refuses the rest with 403.
 */
record OwnOrListedOriginUpgrader(Set<String> listed, Http1RoutedUpgrader listedOrigin, Http1RoutedUpgrader ownOrigin)
        implements Http1RoutedUpgrader {

    static OwnOrListedOriginUpgrader create(WsConfig config) {
        return new OwnOrListedOriginUpgrader(Set.copyOf(config.origins()), routed(config),
                                             routed(WsConfig.builder().from(config).clearOrigins().build()));
    }

    private static Http1RoutedUpgrader routed(WsConfig config) {
        // Routed: Helidon runs the HTTP filters (auth, CORS) before it upgrades, as with its default upgrader.
        if (WsUpgrader.create(config) instanceof Http1RoutedUpgrader routed) {
            return routed;
        }
        throw new IllegalStateException("Helidon's WebSocket upgrader no longer runs the HTTP filters first");
    }

    @Override
    public String supportedProtocol() {
        return ownOrigin.supportedProtocol();
    }

    @Override
    public Optional<Http1RoutedUpgrade> routedUpgrade(ConnectionContext ctx, HttpPrologue prologue,
                                                      WritableHeaders<?> headers) {
        return checking(headers).routedUpgrade(ctx, prologue, headers);
    }

    @Override
    public ServerConnection upgrade(ConnectionContext ctx, HttpPrologue prologue, WritableHeaders<?> headers) {
        return checking(headers).upgrade(ctx, prologue, headers);
    }

    private Http1RoutedUpgrader checking(Headers headers) {
        return headers.first(HeaderNames.ORIGIN).filter(listed::contains).isPresent() ? listedOrigin : ownOrigin;
    }
}
