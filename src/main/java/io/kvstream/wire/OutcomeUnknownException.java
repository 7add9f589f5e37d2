package io.kvstream.wire;

/** A command was sent, but the connection dropped before the broker confirmed it: it may or may not apply. */
public final class OutcomeUnknownException extends RuntimeException {
    OutcomeUnknownException(Throwable cause) {
        super("Broker connection lost before the confirm", cause, false, false);
    }
}
