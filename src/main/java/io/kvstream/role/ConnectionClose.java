package io.kvstream.role;

import io.helidon.http.HeaderValues;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Ends the connection after the answer to a request that says {@code Connection: close} (RFC 9112 §9.6: the server
 * closes after that response and reads no further request). Helidon 4.5.0 answers such a request with {@code
 * Connection: close} but keeps the connection open, and would read and serve a request pipelined after it.
 */
final class ConnectionClose {
    private ConnectionClose() {
    }

    static void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        chain.proceed();
        if (response.isSent() && request.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
            throw new CloseConnectionException("The client asked to close the connection after this answer");
        }
    }
}
