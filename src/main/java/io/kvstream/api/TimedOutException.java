package io.kvstream.api;

/** A write whose outcome is unknown at the deadline: answered 504 with the command id. */
final class TimedOutException extends RuntimeException {
    private final String commandId;

    TimedOutException(String commandId, String message) {
        super(message, null, false, false);
        this.commandId = commandId;
    }

    String commandId() {
        return commandId;
    }
}
