package io.kvstream.command;

import java.util.List;
import java.util.function.Consumer;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;

/**
 * The worker of this very process (the all-in-one role), which takes synchronous commands without the broker. It
 * answers through {@code onOutcome} only what the commands' domain events do not announce, as a worker's reply does.
 */
@FunctionalInterface
public interface InProcessWorker {
    /** False if the worker cannot take them now (stopped, or too much waiting already). */
    boolean handOver(List<Command> commands, Consumer<CommandOutcome> onOutcome);
}
