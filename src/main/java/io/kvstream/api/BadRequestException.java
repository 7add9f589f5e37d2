package io.kvstream.api;

import io.helidon.http.Status;

/** A request the client must fix; carries the status and error code it is answered with. */
final class BadRequestException extends RuntimeException {
    private final Status status;
    private final String code;

    BadRequestException(Status status, String code, String message) {
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
