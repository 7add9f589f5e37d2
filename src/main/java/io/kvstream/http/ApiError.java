package io.kvstream.http;

import java.lang.System.Logger.Level;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.wire.Json;

/**
 * The JSON body of every error: {@code {"error":"<code>","message":"<text>","support":"<16-char id>"}}.
 * The support id is logged with the failure, so an operator can find it from what a client reports.
 * {@code command} is set when a write timed out: the client knows which command may still apply.
 */
public record ApiError(String error, String message, String support, String command) {
    private static final System.Logger LOG = System.getLogger(ApiError.class.getName());

    public static void send(ServerResponse res, Status status, String error, String message) {
        send(res, status, error, message, null);
    }

    public static void send(ServerResponse res, Status status, String error, String message, String command) {
        send(res, status, error, message, command, true);
    }

    /** Without {@code withBody} (the answer to a HEAD), the headers of the error alone. */
    public static void send(ServerResponse res, Status status, String error, String message, String command,
                     boolean withBody) {
        ApiError body = new ApiError(error, message, supportId(), command);
        body.log(status);
        body.sendTo(res, status, withBody);
    }

    /** A method the resource does not take: 405 naming those it does ({@code Allow}). */
    public static void methodNotAllowed(ServerRequest req, ServerResponse res, String allowed) {
        res.header(HeaderNames.ALLOW, allowed);
        send(res, Status.METHOD_NOT_ALLOWED_405, "method_not_allowed", "Allowed: " + allowed, null,
             HeadOrGet.withBody(req));
    }

    /** One line per failure, naming its support id: 5xx as a warning, 4xx for debugging. */
    public void log(Status status) {
        Level level = status.code() >= 500 ? Level.WARNING : Level.DEBUG;
        LOG.log(level, "support=" + support + " status=" + status.code() + " error=" + error + " " + message
                       + (command == null ? "" : " command=" + command));
    }

    /**
     * Sends this error as the response, or without {@code withBody} (a HEAD's) its headers alone; the caller has
     * logged it.
     */
    public void sendTo(ServerResponse res, Status status, boolean withBody) {
        if (status.code() == 503) {
            res.header(HeaderNames.RETRY_AFTER, "1");
        }
        res.status(status);
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        HeadOrGet.send(res, json(), withBody);
    }

    public byte[] json() {
        return Json.write(this);
    }

    public static String supportId() {
        return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
    }
}
