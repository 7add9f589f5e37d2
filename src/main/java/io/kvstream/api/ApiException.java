package io.kvstream.api;

import io.helidon.http.Status;

/** A request answered with an error: carries the status and the short error code of the JSON body. */
final class ApiException extends RuntimeException {
    private final Status status;
    private final String code;

    ApiException(Status status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    Status status() {
        return status;
    }

    String code() {
        return code;
    }
}
