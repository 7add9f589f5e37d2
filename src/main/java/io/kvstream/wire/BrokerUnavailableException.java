package io.kvstream.wire;

/**
 * The command could not be handed to the broker; nothing was enqueued, the client may retry. {@link #refused()}: the
 * broker answered the publish with a negative confirm (a quorum queue does while its members elect a new leader),
 * which a retry on a fresh channel usually gets past.
 */
public final class BrokerUnavailableException extends RuntimeException {
    private final boolean refused;

    public BrokerUnavailableException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private BrokerUnavailableException(String message, Throwable cause, boolean refused) {
        super(message, cause);
        this.refused = refused;
    }

    /** The broker's negative confirm of a publish. */
    static BrokerUnavailableException refusedByBroker() {
        return new BrokerUnavailableException("Broker refused the command", null, true);
    }

    public boolean refused() {
        return refused;
    }
}
