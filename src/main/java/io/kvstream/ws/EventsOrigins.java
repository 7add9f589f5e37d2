package io.kvstream.ws;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which browser pages may open {@code /events}: a request without {@code Origin} (curl, servers), the server's own
 * origin, and the origins of {@code kvstream.ws.allowed-origins}. The own origin is the one whose host and port equal
 * the request's {@code Host} (a missing port is the {@code Origin} scheme's default), Helidon's rule for WebSocket
 * upgrades: it holds behind an Ingress that ends TLS, where the page is {@code https://host} and the pod sees plain
 * HTTP with {@code Host: host}.
 *
 * @param listed the origins of {@code kvstream.ws.allowed-origins}, exactly as browsers send them
 */
record EventsOrigins(Set<String> listed) {
    EventsOrigins {
        listed = Set.copyOf(listed);
    }

    /** From the comma-separated setting; blanks around the commas are ignored. */
    static EventsOrigins of(String commaSeparated) {
        return new EventsOrigins(Arrays.stream(commaSeparated.split(","))
                                         .map(String::trim)
                                         .filter(origin -> !origin.isEmpty())
                                         .collect(Collectors.toUnmodifiableSet()));
    }

    boolean admits(Optional<String> origin, Optional<String> host) {
        return origin.isEmpty() || listed.contains(origin.get())
               || host.isPresent() && isOwn(origin.get(), host.get());
    }

    /** Whether {@code origin} (scheme://host[:port]) names the host and port of this {@code Host} header. */
    static boolean isOwn(String origin, String host) {
        try {
            URI page = new URI(origin);
            URI server = new URI(null, host, null, null, null);
            if (page.getScheme() == null || page.getHost() == null || server.getHost() == null) {
                return false;
            }
            int defaultPort = defaultPort(page.getScheme());
            return page.getHost().equalsIgnoreCase(server.getHost())
                   && portOr(page, defaultPort) == portOr(server, defaultPort);
        } catch (URISyntaxException e) {
            return false;
        }
    }

    private static int portOr(URI uri, int defaultPort) {
        return uri.getPort() == -1 ? defaultPort : uri.getPort();
    }

    private static int defaultPort(String scheme) {
        return switch (scheme.toLowerCase(Locale.ROOT)) {
            case "https", "wss" -> 443;
            default -> 80;
        };
    }
}
