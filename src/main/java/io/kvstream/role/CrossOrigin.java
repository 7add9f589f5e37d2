package io.kvstream.role;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.cors.CorsFeature;
import io.helidon.webserver.cors.CorsPathConfig;
import io.helidon.webserver.http.HttpRouting;
import io.kvstream.config.Settings;

/**
 * CORS ({@code kvstream.cors.allowed-origins}) for browser apps served from other origins, with Helidon's
 * {@link CorsFeature}: its filter runs before every route and every other filter, and writes the CORS headers into
 * the response before the request goes on, so an error handler's answer (401, 404, 412, 503) carries them too and
 * the app can read it. A CORS request from an origin not listed is refused with 403 and no CORS header; requests
 * without an {@code Origin} (or from the server's own origin) are not CORS requests and pass untouched.
 *
 * <pre>
 * curl -i -X OPTIONS localhost:8080/values/k -H 'Origin: https://app.example' \
 *      -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: if-match,content-type'
 * </pre>
 */
final class CrossOrigin {
    /** Every request header the API and {@code /events} read, allowed in a preflight. */
    static final List<String> REQUEST_HEADERS = List.of("Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                                                        "If-None-Match", "Last-Event-ID", "Prefer");
    private static final Set<String> ALLOWED = caseInsensitive(REQUEST_HEADERS);
    private static final List<HeaderName> CORS_RESPONSE_HEADERS = List.of(
            HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, HeaderNames.ACCESS_CONTROL_ALLOW_METHODS,
            HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, HeaderNames.ACCESS_CONTROL_MAX_AGE);
    /** Response headers an app may read beyond the CORS-safelisted ones. */
    static final List<String> EXPOSED_HEADERS = List.of("ETag", "Retry-After", "WWW-Authenticate");

    private CrossOrigin() {
    }

    /**
     * The CORS feature, or none when no origin is allowed. {@code /events} also admits the origins of
     * {@code kvstream.ws.allowed-origins}: they may already open its WebSocket, whose upgrade passes this filter too.
     */
    static Optional<CorsFeature> feature(Settings settings) {
        Set<String> origins = settings.cors().allowedOrigins();
        if (origins.isEmpty()) {
            return Optional.empty();
        }
        Set<String> streamOrigins = new HashSet<>(origins);
        streamOrigins.addAll(Settings.commaSeparated(settings.ws().allowedOrigins()));
        return Optional.of(CorsFeature.builder()
                                   .addDefaults(false)
                                   .enabled(true)
                                   .addPath(path("/values/*", origins, Method.GET, Method.HEAD, Method.PUT,
                                                 Method.DELETE))
                                   .addPath(path("/txn", origins, Method.POST))
                                   .addPath(path("/events", streamOrigins, Method.GET, Method.HEAD))
                                   .build());
    }

    private static Set<String> caseInsensitive(List<String> names) {
        Set<String> set = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        set.addAll(names);
        return Collections.unmodifiableSet(set);
    }

    private static CorsPathConfig path(String pattern, Set<String> origins, Method... methods) {
        CorsPathConfig.Builder path = CorsPathConfig.builder()
                .pathPattern(pattern)
                .allowOrigins(origins)
                .allowHeaders(Set.of("*"))
                .exposeHeaders(Set.copyOf(EXPOSED_HEADERS))
                .clearAllowMethods();
        for (Method method : methods) {
            path.addAllowMethod(method);
        }
        return path.build();
    }

    /**
     * Completes a preflight the CORS filter accepted (it has set {@code Access-Control-Allow-Origin}) and answers it
     * with 200 at once: otherwise the routes would answer the {@code OPTIONS} (405 from {@code /values}, 401 from
     * {@code /events} under {@code protect-reads}: a browser never sends credentials with a preflight), and the
     * browser would refuse the request. Registered before the other filters, after the CORS feature's.
     *
     * <p>The request headers are checked here, not by Helidon: its 4.5 CORS splits
     * {@code Access-Control-Request-Headers} only at {@code ", "}, and browsers send {@code if-match,content-type}
     * (the Fetch standard joins the names with a bare comma), so it would refuse every preflight of a request with
     * two non-safelisted headers. The feature allows any header, and this filter refuses one outside
     * {@link #REQUEST_HEADERS} with 403 and no CORS header, as Helidon refuses an origin.
     */
    static void completePreflights(HttpRouting.Builder routing) {
        routing.addFilter((chain, req, res) -> {
            if (req.prologue().method() != Method.OPTIONS
                || !req.headers().contains(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD)
                || !res.headers().contains(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN)) {
                chain.proceed();
                return;
            }
            List<String> requested = req.headers().find(HeaderNames.ACCESS_CONTROL_REQUEST_HEADERS)
                    .map(header -> header.allValues().stream()
                            .flatMap(value -> Arrays.stream(value.split(",")))
                            .map(String::trim)
                            .filter(name -> !name.isEmpty())
                            .toList())
                    .orElse(List.of());
            if (!ALLOWED.containsAll(requested)) {
                CORS_RESPONSE_HEADERS.forEach(res.headers()::remove);
                res.headers().remove(HeaderNames.VARY);
                res.status(Status.FORBIDDEN_403).send();
                return;
            }
            res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, String.join(", ", REQUEST_HEADERS));
            res.status(Status.OK_200).send();
        });
    }
}
