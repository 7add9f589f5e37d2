package io.kvstream.command;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.wire.Broker;
import io.kvstream.wire.BrokerUnavailableException;
import io.kvstream.wire.CommandSender;
import io.kvstream.wire.OutcomeUnknownException;

/**
 * Sends an API process's commands to the workers and, for synchronous writes, waits for the outcome. A command that
 * changed something is answered by its own domain event once this process has applied it ({@link #applied}), which
 * is what a read-your-writes answer waits for anyway; the worker replies only for the other outcomes (precondition
 * failed, nothing to delete, rejected), for redelivered commands and for transactions.
 * <p>
 * Commands leave in batches: request threads queue them, and one publisher thread sends whatever has queued up
 * meanwhile as one message (synchronous and durable ones apart: they are published differently), so under load the
 * broker, this process and the worker handle one message and one confirm per batch instead of per write; for the
 * durable ones that is also one write to the broker's disk (and, on a quorum queue, one replication). With nothing
 * queued, nothing being sent and nothing waiting for the broker's confirm, the request's own thread sends its command:
 * waking the publisher thread for one command would cost more than the send itself (a thread switch each way). Under
 * load something is always in flight, so the commands gather in the queue and leave together.
 * <p>
 * With a worker in the same process ({@link InProcessWorker}, the all-in-one role) the synchronous commands go to it
 * directly; commands nobody waits for still go through the broker, which keeps them when the process dies.
 */
public final class CommandBus implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandBus.class.getName());
    /** Commands per message at most; the worker commits up to its batch size of them in one transaction. */
    private static final int MAX_COMMANDS_PER_MESSAGE = 64;
    /** Value and key characters per message at most, so one large value does not drag a dozen others along. */
    private static final int MAX_CHARS_PER_MESSAGE = 256 * 1024;
    private static final int MAX_QUEUED = 4096;
    private static final Duration RETRY_AFTER_REFUSAL = Duration.ofMillis(50);
    private static final Duration LAST_TRY_BEFORE_DEADLINE = Duration.ofMillis(500);

    private final CommandSender sender;
    /** Null unless the worker runs in this process. */
    private final InProcessWorker inProcessWorker;
    private final ConcurrentHashMap<String, Awaiting> awaitingOutcome = new ConcurrentHashMap<>();
    private final BlockingQueue<Outgoing> outgoing = new ArrayBlockingQueue<>(MAX_QUEUED);
    /** Held while commands are handed to the sender: by the publisher thread, or by a request sending its own. */
    private final ReentrantLock sending = new ReentrantLock();
    private final Thread publisher;
    private volatile boolean running = true;

    /**
     * The outcome that the senders of one command id wait for: more than one when a client retries a write with the
     * same Idempotency-Key before the first attempt is answered; all of them get the first outcome.
     */
    private record Awaiting(CompletableFuture<CommandOutcome> outcome, AtomicInteger senders) {
    }

    /**
     * A command waiting for the publisher thread, and the future its broker confirm completes; {@code durable}: nobody
     * waits for its outcome, so it is persistent and never handed to a worker in this process.
     */
    private record Outgoing(Command command, boolean durable, CompletableFuture<Void> confirmed, long deadline) {
        int chars() {
            return command.chars();
        }
    }

    public CommandBus(Broker broker) throws IOException {
        this(broker, null);
    }

    /** Synchronous commands go to {@code inProcessWorker} instead of the broker. */
    public CommandBus(Broker broker, InProcessWorker inProcessWorker) throws IOException {
        this.sender = new CommandSender(broker, this::replied);
        this.inProcessWorker = inProcessWorker;
        this.publisher = Thread.ofVirtual().name("command-publisher").start(this::publishQueued);
    }

    /** Sends the command and waits for its outcome (committed, or refused by a precondition). */
    public CommandOutcome send(Command command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Awaiting awaiting = awaitingOutcome.compute(command.id(), (id, earlier) -> {
            Awaiting joined = earlier != null ? earlier : new Awaiting(new CompletableFuture<>(), new AtomicInteger());
            joined.senders().incrementAndGet();
            return joined;
        });
        CompletableFuture<CommandOutcome> outcome = awaiting.outcome();
        try {
            queue(command, false, deadline).whenComplete((ok, failure) -> {
                if (failure != null) {
                    outcome.completeExceptionally(failure);
                }
            });
            return await(outcome, command, deadline - System.nanoTime());
        } finally {
            awaitingOutcome.computeIfPresent(command.id(), (id, current) ->
                    current == awaiting && current.senders().decrementAndGet() == 0 ? null : current);
        }
    }

    /**
     * A domain event this process has applied: if it is the change of a command sent from here, that is its outcome.
     * Not so for a transaction's: its outcome says more than its events (which branch, what each change did), so the
     * worker always replies, and the sender waits for this replica to reach the revision in the reply.
     */
    public void applied(DomainEvent event) {
        if (event.command() == null || event.txn() != null || awaitingOutcome.isEmpty()) {
            return;
        }
        Awaiting waiting = awaitingOutcome.remove(event.command());
        if (waiting != null) {
            waiting.outcome().complete(new CommandOutcome(event.command(), CommandOutcome.Status.APPLIED,
                                                          event.revision()));
        }
    }

    private void replied(CommandOutcome outcome) {
        Awaiting waiting = awaitingOutcome.remove(outcome.command());
        if (waiting != null) {
            waiting.outcome().complete(outcome);
        }
    }

    /** Enqueues the command without waiting for the worker; returns once the broker has confirmed it. */
    public void enqueue(Command command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        await(queue(command, true, deadline), command, deadline - System.nanoTime());
    }

    /**
     * Whether writes can be taken. Also with a worker in this process it is the broker's connection: the committed
     * events reach every other process through it, so writes pause with the broker as in every other role.
     */
    public boolean connected() {
        return sender.connected();
    }

    /** Hands a command to the publisher thread; a full queue for the whole timeout is an outage. */
    private CompletableFuture<Void> queue(Command command, boolean durable, long deadline) {
        if (!connected()) {
            return CompletableFuture.failedFuture(new BrokerUnavailableException("Broker connection is down", null));
        }
        CompletableFuture<Void> confirmed = new CompletableFuture<>();
        Outgoing item = new Outgoing(command, durable, confirmed, deadline);
        if (sentAtOnce(item)) {
            return confirmed;
        }
        try {
            if (!outgoing.offer(item, deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                return CompletableFuture.failedFuture(
                        new BrokerUnavailableException("Too many commands waiting for the broker", null));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new BrokerUnavailableException("Interrupted", e));
        }
        return confirmed;
    }

    /**
     * Sends {@code item} on the calling thread if nothing is queued, being sent or waiting for its confirm; false
     * otherwise (it is to be queued). Sending each command at once while others are in flight would cost a message and
     * a confirm per command where the publisher thread sends one per batch
     * (bench/results/ab/put-send-on-request-thread.md).
     * Not while the broker holds the connection blocked (a resource alarm): a send may then wait until the alarm ends,
     * and only the publisher thread may wait like that, as every request waits for its own deadline alone.
     */
    private boolean sentAtOnce(Outgoing item) {
        if (!outgoing.isEmpty() || sender.blocked() || sender.awaitingConfirms() || !sending.tryLock()) {
            return false;
        }
        try {
            if (!outgoing.isEmpty()) {
                return false;
            }
            dispatch(List.of(item));
            return true;
        } finally {
            sending.unlock();
        }
    }

    /** The publisher thread: sends what has queued up since its last message as one message. */
    private void publishQueued() {
        List<Outgoing> batch = new ArrayList<>(MAX_COMMANDS_PER_MESSAGE);
        Outgoing carried = null;
        while (running) {
            try {
                Outgoing first = carried != null ? carried : outgoing.poll(200, TimeUnit.MILLISECONDS);
                carried = null;
                if (first == null) {
                    continue;
                }
                batch.add(first);
                int chars = first.chars();
                while (batch.size() < MAX_COMMANDS_PER_MESSAGE) {
                    Outgoing next = outgoing.poll();
                    if (next == null) {
                        break;
                    }
                    if (chars + next.chars() > MAX_CHARS_PER_MESSAGE || next.durable() != first.durable()) {
                        carried = next;
                        break;
                    }
                    batch.add(next);
                    chars += next.chars();
                }
                sending.lock();
                try {
                    dispatch(batch);
                } finally {
                    sending.unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } finally {
                batch.clear();
            }
        }
        BrokerUnavailableException closing = new BrokerUnavailableException("Shutting down", null);
        if (carried != null) {
            carried.confirmed().completeExceptionally(closing);
        }
        outgoing.forEach(o -> o.confirmed().completeExceptionally(closing));
    }

    /** Sends {@code batch} (all durable, or all synchronous) as one message. Called with {@link #sending} held. */
    private void dispatch(List<Outgoing> batch) {
        try {
            List<Command> commands = batch.stream().map(Outgoing::command).toList();
            if (batch.getFirst().durable()) {
                sender.sendDurable(commands, confirmedOrRetried(batch));
            } else {
                send(commands, confirmedOrRetried(batch));
            }
        } catch (RuntimeException e) {
            batch.forEach(o -> o.confirmed().completeExceptionally(e));
            LOG.log(Level.ERROR, "Publishing commands failed", e);
        }
    }

    /** Synchronous commands: to the worker of this process if there is one, else to the broker. */
    private void send(List<Command> commands, CompletableFuture<Void> accepted) {
        if (inProcessWorker == null) {
            sender.sendAwaitingOutcome(commands, accepted);
        } else if (inProcessWorker.handOver(commands, this::replied)) {
            accepted.complete(null);
        } else {
            accepted.completeExceptionally(new BrokerUnavailableException("Too many commands waiting for the worker",
                                                                          null));
        }
    }

    /**
     * The future of a message's confirm, which completes the futures of all its commands; a message the broker refused
     * (nothing of it was enqueued) is queued again a little later, each command until its own deadline.
     */
    private CompletableFuture<Void> confirmedOrRetried(List<Outgoing> batch) {
        List<Outgoing> sent = List.copyOf(batch);
        CompletableFuture<Void> message = new CompletableFuture<>();
        message.whenComplete((ok, failure) -> {
            if (failure instanceof BrokerUnavailableException unavailable && unavailable.refused() && running) {
                // Not on the connection's thread, which the confirms of every other message wait for.
                Thread.ofVirtual().name("command-retry").start(() -> queueAgain(sent, unavailable));
            } else {
                sent.forEach(o -> settle(o.confirmed(), failure));
            }
        });
        return message;
    }

    /**
     * A quorum queue refuses publishes while its members elect a new leader, for a second or a few: waiting a moment
     * and sending again turns that into a slower answer instead of a 503.
     */
    private void queueAgain(List<Outgoing> refused, BrokerUnavailableException refusal) {
        List<Outgoing> again = new ArrayList<>(refused.size());
        for (Outgoing o : refused) {
            // Too close to its deadline for another try: say "refused" (503, nothing written) before the waiting
            // request gives up on its own with "may still apply" (504).
            if (o.deadline() - System.nanoTime() < LAST_TRY_BEFORE_DEADLINE.toNanos()) {
                o.confirmed().completeExceptionally(refusal);
            } else {
                again.add(o);
            }
        }
        try {
            Thread.sleep(RETRY_AFTER_REFUSAL);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Outgoing o : again) {
            if (!running || !outgoing.offer(o)) {
                o.confirmed().completeExceptionally(refusal);
            }
        }
    }

    private static void settle(CompletableFuture<Void> confirmed, Throwable failure) {
        if (failure == null) {
            confirmed.complete(null);
        } else {
            confirmed.completeExceptionally(failure);
        }
    }

    private static <T> T await(CompletableFuture<T> future, Command command, long nanos) {
        try {
            return future.get(Math.max(0, nanos), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new CommandTimeoutException(command.id());
        } catch (ExecutionException e) {
            throw failure(command, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandTimeoutException(command.id());
        }
    }

    /** Not sent: the broker is unavailable (503); sent but unconfirmed: it may still apply (504). */
    private static RuntimeException failure(Command command, Throwable cause) {
        if (cause instanceof BrokerUnavailableException unavailable) {
            return unavailable;
        }
        if (cause instanceof OutcomeUnknownException) {
            return new CommandTimeoutException(command.id());
        }
        return new BrokerUnavailableException("Command not enqueued", cause);
    }

    @Override
    public void close() {
        running = false;
        publisher.interrupt();
        try {
            publisher.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sender.close();
    }
}
