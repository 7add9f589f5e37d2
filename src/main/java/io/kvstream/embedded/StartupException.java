package io.kvstream.embedded;

/** A start-up problem the operator can fix; Main prints its message alone, without a stack trace. */
public final class StartupException extends RuntimeException {
    public StartupException(String message) {
        super(message, null, false, false);
    }
}
