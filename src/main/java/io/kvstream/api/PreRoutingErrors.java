package io.kvstream.api;

import java.util.function.BooleanSupplier;

import io.helidon.http.DirectHandler;
import io.helidon.http.DirectHandler.EventType;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Method;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.DirectHandlers;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;

/**
 * The answers to requests Helidon refuses before routing (a bad request line or header, HTTP/1.0, a head too large),
 * in the API's JSON error format through Helidon's direct handlers, each with one log line naming its support id.
 *
 * <p>Helidon 4.5 reports a request it could not even parse (an invalid method token such as {@code GE(T}, EOF in the
 * middle of the headers) as an internal error without a request: that is the client's fault, answered 400. The same
 * report comes when an upgraded {@code /events} connection fails on a frame Helidon cannot parse (a reserved
 * opcode); then {@code closedUpgradedStream} has already closed it with 1002, and no HTTP bytes may follow.
 */
public final class PreRoutingErrors {
    private PreRoutingErrors() {
    }

    public static void configure(WebServerConfig.Builder server) {
        configure(server, () -> false);
    }

    /**
     * @param closedUpgradedStream called on the failing connection's thread: true if that connection was an upgraded
     *                             stream and has been closed at the protocol level
     */
    public static void configure(WebServerConfig.Builder server, BooleanSupplier closedUpgradedStream) {
        DirectHandler handler = (request, type, status, headers, message) -> {
            boolean unparsed = type == EventType.INTERNAL_ERROR && request.method().isEmpty();
            if (unparsed && closedUpgradedStream.getAsBoolean()) {
                throw new CloseConnectionException("Upgraded stream closed on a protocol error");
            }
            boolean head = request.method().equals(Method.HEAD.text());
            if (unparsed) {
                return answer(Status.BAD_REQUEST_400, headers, "bad_request", "Malformed request", false, true);
            }
            if (type == EventType.FORBIDDEN) {
                // Helidon's WebSocket upgrade refused the Origin (it reports no more of the request): answered with
                // the code the event stream over SSE answers it with.
                return answer(status, headers, "forbidden_origin", "This Origin may not open /events", type.keepAlive(),
                              !head);
            }
            return answer(status, headers, code(status), text(status), type.keepAlive(), !head);
        };
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        for (EventType type : EventType.values()) {
            handlers.addHandler(type, handler);
        }
        server.directHandlers(handlers.build());
    }

    /** Without {@code withBody} (a HEAD's answer) the headers alone: see {@link HeadOrGet}. */
    private static DirectHandler.TransportResponse answer(Status status, ServerResponseHeaders headers, String code,
                                                          String message, boolean keepAlive, boolean withBody) {
        ApiError error = new ApiError(code, message, ApiError.supportId(), null);
        error.log(status);
        headers.set(HeaderValues.CONTENT_TYPE_JSON);
        if (status.code() == 503) {
            headers.set(HeaderNames.RETRY_AFTER, "1");
        }
        byte[] json = error.json();
        if (!withBody) {
            headers.set(HeaderNames.CONTENT_LENGTH, String.valueOf(json.length));
        }
        DirectHandler.TransportResponse.Builder response = DirectHandler.TransportResponse.builder()
                .status(status)
                .headers(headers)
                .keepAlive(keepAlive);
        return (withBody ? response.entity(json) : response).build();
    }

    private static String code(Status status) {
        return switch (status.code()) {
            case 413 -> "too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            case 503 -> "unavailable";
            case 501 -> "not_implemented";
            case 505 -> "http_version_not_supported";
            default -> status.code() < 500 ? "bad_request" : "internal";
        };
    }

    private static String text(Status status) {
        return status.code() == 505 ? "Use HTTP/1.1" : status.reasonPhrase();
    }
}
