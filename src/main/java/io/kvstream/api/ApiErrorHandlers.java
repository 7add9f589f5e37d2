package io.kvstream.api;

import java.lang.System.Logger.Level;

import io.helidon.http.HeaderValues;
import io.helidon.http.HttpException;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.auth.AuthException;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;
import io.kvstream.storage.StorageException;

/** Maps every failure of a request to a JSON error; no stack trace ever reaches a client. */
public final class ApiErrorHandlers {
    private static final System.Logger LOG = System.getLogger(ApiErrorHandlers.class.getName());

    private ApiErrorHandlers() {
    }

    public static void register(HttpRouting.Builder routing, ApiMetrics metrics) {
        routing.error(ApiException.class, (req, res, e) -> {
            metrics.rejected(e.code());
            ApiError.send(res, e.status(), e.code(), e.getMessage(), null, HeadOrGet.withBody(req));
        });
        routing.error(AuthException.class, (req, res, e) -> {
            metrics.rejected(e.code());
            ApiError.send(res, e.status(), e.code(), e.getMessage(), null, HeadOrGet.withBody(req));
        });
        // The database went away under a read of the history.
        routing.error(StorageException.class, (req, res, e) -> {
            metrics.rejected("unavailable");
            ApiError.send(res, Status.SERVICE_UNAVAILABLE_503, "unavailable", "The database is unavailable", null,
                          HeadOrGet.withBody(req));
        });
        routing.error(TimedOutException.class, (req, res, e) -> {
            metrics.rejected("timeout");
            ApiError.send(res, Status.GATEWAY_TIMEOUT_504, "timeout", e.getMessage(), e.commandId(),
                          HeadOrGet.withBody(req));
        });
        // Helidon's own answers (unknown path 404, bad request line 400, ...) keep their status, as JSON.
        routing.error(HttpException.class, (req, res, e) -> {
            metrics.rejected("http_" + e.status().code());
            ApiError.send(res, e.status(), e.status().code() == 404 ? "not_found" : "bad_request",
                          e.status().reasonPhrase(), null, HeadOrGet.withBody(req));
        });
        routing.error(Exception.class, (req, res, e) -> {
            metrics.rejected("internal");
            String support = ApiError.supportId();
            // The one log line of this failure, with its stack trace; the body names the same id twice.
            LOG.log(Level.ERROR, "support=" + support + " status=500 error=internal unexpected failure of "
                                 + req.prologue().method().text() + " " + req.path().path(), e);
            new ApiError("internal", "Internal error, support id " + support, support, null)
                    .sendTo(res, Status.INTERNAL_SERVER_ERROR_500, HeadOrGet.withBody(req));
        });
    }

    /**
     * What to throw for a failure to read a request's body. A body refused before its end (too large, malformed
     * chunks, EOF before Content-Length, no room left for it) leaves the connection where no next request can be
     * found, and an error handler would have Helidon read on through the rest of it: such a one is answered here,
     * and the connection dropped after the answer. Any other goes to the error handlers.
     */
    static RuntimeException refusedBody(ServerResponse res, ApiException e, ApiMetrics metrics) {
        if (!e.closesConnection()) {
            return e;
        }
        metrics.rejected(e.code());
        res.header(HeaderValues.CONNECTION_CLOSE);
        ApiError.send(res, e.status(), e.code(), e.getMessage());
        return new CloseConnectionException("Request body refused before its end, connection closed after the answer");
    }
}
