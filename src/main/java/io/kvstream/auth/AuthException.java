package io.kvstream.auth;

import io.helidon.http.Status;

/** A request without the token it needs (401) or whose token lacks the scope (403); {@code code} names why. */
public final class AuthException extends RuntimeException {
    private final Status status;
    private final String code;

    AuthException(Status status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public Status status() {
        return status;
    }

    public String code() {
        return code;
    }
}
