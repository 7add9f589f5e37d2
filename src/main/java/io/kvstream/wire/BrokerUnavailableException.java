package io.kvstream.wire;

/** The command could not be handed to the broker; nothing was enqueued, the client may retry. */
public final class BrokerUnavailableException extends RuntimeException {
    public BrokerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
