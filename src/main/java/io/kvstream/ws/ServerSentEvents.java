package io.kvstream.ws;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;

/**
 * {@code GET /events} with {@code Accept: text/event-stream}: the same envelopes as the WebSocket, as Server-Sent
 * Events, through the same per-client queue and writer ({@link EventsConnection}), whose writer is the request's
 * own thread:
 * <pre>
 * id: 7
 * event: domain_event
 * data: {"type":"domain_event",...,"event":{"event":"value_put","key":"user:1","value":"v","revision":7}}
 *
 * event: connection_opened
 * data: {"type":"connection_opened","route":"events","from":"3f9c0a2b71de","value":"Connection opened"}
 *
 * : ping
 * </pre>
 * {@code since=R} or {@code Last-Event-ID: R} (the query wins) resumes after revision R; {@code prefix} and
 * {@code key} filter as on the WebSocket. The stream is written directly, one flush per event, with
 * {@code X-Accel-Buffering: no} so that nginx passes every event on at once.
 *
 * <pre>
 * curl -N -H 'Accept: text/event-stream' 'localhost:8080/events?prefix=user:'
 * curl -N -H 'Accept: text/event-stream' -H 'Last-Event-ID: 41' localhost:8080/events
 * </pre>
 */
final class ServerSentEvents {
    static final String EVENT_STREAM = "text/event-stream";
    private static final System.Logger LOG = System.getLogger(ServerSentEvents.class.getName());
    private static final HeaderName LAST_EVENT_ID = HeaderNames.create("Last-Event-ID");
    private static final HeaderName X_ACCEL_BUFFERING = HeaderNames.create("X-Accel-Buffering");
    private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

    private final EventsEndpoint endpoint;

    ServerSentEvents(EventsEndpoint endpoint) {
        this.endpoint = endpoint;
    }

    /**
     * The {@code GET /events} and {@code HEAD /events} route (a WebSocket upgrade never reaches it). A request that
     * accepts no event stream is a 406 naming both ways in; one whose upgrade Helidon did not take (it matches the
     * token {@code websocket} in lowercase only) is a 400 that says so. A HEAD gets the headers a GET would, and no
     * stream.
     */
    void serve(ServerRequest req, ServerResponse res) throws IOException {
        boolean withBody = HeadOrGet.withBody(req);
        if (!acceptsEventStream(req)) {
            if (req.headers().contains(HeaderNames.UPGRADE)) {
                badRequest(res, "This server takes a WebSocket upgrade as Upgrade: websocket (in lowercase, alone)",
                           withBody);
            } else {
                ApiError.send(res, Status.NOT_ACCEPTABLE_406, "not_acceptable",
                              "/events streams over a WebSocket (Upgrade: websocket) or as Server-Sent Events"
                              + " (Accept: text/event-stream)", null, withBody);
            }
            return;
        }
        if (!admitsOrigin(req, res)) {
            ApiError.send(res, Status.FORBIDDEN_403, "forbidden_origin",
                          "Origin " + req.headers().first(HeaderNames.ORIGIN).orElse("") + " may not open /events",
                          null, withBody);
            return;
        }
        Long since;
        EventFilter filter;
        try {
            since = EventsConnection.since(req.query());
            Optional<String> lastEventId = req.headers().first(LAST_EVENT_ID);
            if (since == null && lastEventId.isPresent()) {
                since = EventsConnection.revision("Last-Event-ID", lastEventId.get().trim());
            }
            filter = EventFilter.of(req.query());
        } catch (IllegalArgumentException e) {
            badRequest(res, e.getMessage(), withBody);
            return;
        }
        if (endpoint.shuttingDown()) {
            ApiError.send(res, Status.SERVICE_UNAVAILABLE_503, "unavailable", "Server shutting down", null, withBody);
            return;
        }
        res.status(Status.OK_200);
        res.header(HeaderNames.CONTENT_TYPE, EVENT_STREAM);
        res.header(HeaderNames.CACHE_CONTROL, "no-cache");
        res.header(X_ACCEL_BUFFERING, "no");
        if (!withBody) {
            // Helidon 4.5 sends Content-Length: 0 with it; a stream's chunked framing would end in body bytes.
            res.send();
            return;
        }
        try (OutputStream out = res.outputStream()) {
            out.flush();
            endpoint.newConnection().stream(new SsePeer(out), since, filter);
        } catch (IOException | UncheckedIOException e) {
            LOG.log(Level.DEBUG, "Event stream ended: " + e.getMessage());
        }
    }

    /**
     * The origins of {@link EventsOrigins}, as for the WebSocket; and with CORS on, an origin its filter has
     * admitted (it has already written {@code Access-Control-Allow-Origin}: {@code kvstream.cors.allowed-origins}).
     */
    private boolean admitsOrigin(ServerRequest req, ServerResponse res) {
        return res.headers().contains(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN)
               || endpoint.origins().admits(req.headers().first(HeaderNames.ORIGIN), req.headers().first(HeaderNames.HOST));
    }

    /**
     * Whether {@code Accept} names {@code text/event-stream} itself with a quality above 0 (RFC 9110 §12.4.2: q=0 is
     * "not acceptable"); a wildcard does not ask for a stream, and an {@code Accept} that does not parse asks for none.
     */
    private static boolean acceptsEventStream(ServerRequest req) {
        try {
            return req.headers().acceptedTypes().stream()
                    .anyMatch(type -> type.qualityFactor() > 0
                                      && EVENT_STREAM.equalsIgnoreCase(type.mediaType().fullType()));
        } catch (RuntimeException unparsable) {
            return false;
        }
    }

    /**
     * A request for the stream that cannot have one: counted among the clients refused, answered 400 (without
     * {@code withBody}, a HEAD's, with its headers alone).
     */
    static void badRequest(ServerResponse res, String message, boolean withBody) {
        WsMetrics.dropped("bad_request");
        ApiError.send(res, Status.BAD_REQUEST_400, "bad_request", message, null, withBody);
    }

    /** One SSE response: each envelope an event, flushed at once; closing it ends the response. */
    private record SsePeer(OutputStream out) implements EventsConnection.Peer {
        @Override
        public void send(String type, String json, long revision) {
            // The envelope JSON is one line: a newline inside a key or value is escaped as \n.
            String event = (revision > 0 ? "id: " + revision + "\n" : "") + "event: " + type + "\ndata: " + json + "\n\n";
            write(event.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public void ping() {
            write(PING);
        }

        @Override
        public void close(int code, String reason) {
            // the handler returns and the response ends
        }

        @Override
        public boolean answersPings() {
            return false;
        }

        private void write(byte[] bytes) {
            try {
                out.write(bytes);
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
