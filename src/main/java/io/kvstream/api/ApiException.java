package io.kvstream.api;

import io.helidon.http.Status;

/** A request answered with an error: carries the status and the short error code of the JSON body. */
final class ApiException extends RuntimeException {
    private final Status status;
    private final String code;
    private final boolean closesConnection;

    ApiException(Status status, String code, String message) {
        this(status, code, message, false);
    }

    private ApiException(Status status, String code, String message, boolean closesConnection) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.closesConnection = closesConnection;
    }

    /**
     * A request whose body is refused before it was read to its end (too large, malformed chunks, EOF): where its
     * next request would start is unknown, so the connection is closed after the answer.
     */
    static ApiException bodyNotRead(Status status, String code, String message) {
        return new ApiException(status, code, message, true);
    }

    boolean closesConnection() {
        return closesConnection;
    }

    Status status() {
        return status;
    }

    String code() {
        return code;
    }
}
