package io.kvstream.role;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Ends the connection after the answer to a request that says {@code Connection: close} (RFC 9112 §9.6: the server
 * closes after that response and reads no further request). Helidon 4.5.0 answers such a request with {@code
 * Connection: close} but keeps the connection open, and would read and serve a request pipelined after it.
 * <p>
 * A chunked request's connection ends with its answer too. Helidon reads each chunk whole, up to
 * {@code server.max-payload-size}, before a byte of it reaches a handler, and reads out the body of a request no
 * route wanted the same way (a 401, a 404): each connection could hold such a chunk outside every bound of ours.
 * The answer says {@code Connection: close}, so Helidon leaves an unread body unread.
 */
final class ConnectionClose {
    private ConnectionClose() {
    }

    static void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        boolean chunked = request.headers().contains(HeaderNames.TRANSFER_ENCODING);
        if (chunked) {
            response.header(HeaderValues.CONNECTION_CLOSE);
        }
        chain.proceed();
        if (response.isSent() && (chunked || request.headers().containsToken(HeaderValues.CONNECTION_CLOSE))) {
            throw new CloseConnectionException("The connection ends with this answer");
        }
    }
}
