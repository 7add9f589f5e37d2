package io.kvstream.command;

/** The command was enqueued but no answer came in time: it may still be applied later. */
public final class CommandTimeoutException extends RuntimeException {
    private final String commandId;

    public CommandTimeoutException(String commandId) {
        super("No outcome for command " + commandId + " in time");
        this.commandId = commandId;
    }

    public String commandId() {
        return commandId;
    }
}
