package io.kvstream.http;

import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The body of a GET, or for a HEAD its headers alone (RFC 9110 §9.3.2). Helidon 4.5 routes HEAD only where a route
 * names it and sends whatever body a handler gives it, and a client reads no body after a HEAD's headers, so a body
 * sent would be read as the next answer on the connection.
 */
public final class HeadOrGet {
    private HeadOrGet() {
    }

    /** Whether the answer to {@code req} carries its body: every request's but a HEAD's. */
    public static boolean withBody(ServerRequest req) {
        return req.prologue().method() != Method.HEAD;
    }

    /** Sends {@code body}, or without {@code withBody} its {@code Content-Length} and nothing else. */
    public static void send(ServerResponse res, byte[] body, boolean withBody) {
        if (withBody) {
            res.send(body);
        } else {
            res.header(HeaderNames.CONTENT_LENGTH, String.valueOf(body.length));
            res.send();
        }
    }
}
