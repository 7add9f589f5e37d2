package io.kvstream.command;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.DeliverCallback;
import io.kvstream.Broker;
import io.kvstream.Json;
import io.kvstream.event.DomainEvent;

/**
 * Sends commands to the worker over the durable command queue with publisher confirms and, for
 * synchronous writes, waits for the outcome. A command that changed something is answered by its own domain
 * event once this process has applied it ({@link #applied}), which is what a read-your-writes answer waits
 * for anyway; the worker sends a reply message to this process's reply queue only for the other outcomes
 * (precondition failed, nothing to delete, rejected) and for redelivered commands.
 * <p>
 * Synchronous commands leave in batches: request threads queue them, and one publisher thread sends whatever has
 * queued up meanwhile as one message (a JSON array; a lone command stays a JSON object), so under load the broker,
 * this process and the worker handle one message and one confirm per batch instead of per write. With nothing
 * else queued, a command leaves at once. Confirms complete every command of their message together.
 * <p>
 * Synchronous commands are published transient: the caller is waiting for the outcome, and if the broker
 * loses the command before a worker commits it, the caller gets the 504 "may still apply" that any lost answer
 * gives. {@code Prefer: respond-async} commands are persistent: nobody waits for them.
 */
public final class CommandBus implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandBus.class.getName());
    /** Command header: the sender learns of applied outcomes from the events; reply only for the others. */
    public static final String REPLY_HEADER = "kvstream-reply";
    public static final String REPLY_UNLESS_APPLIED = "unless-applied";
    private static final Map<String, Object> SYNC_HEADERS = Map.of(REPLY_HEADER, REPLY_UNLESS_APPLIED);
    /** Commands per message at most; the worker commits up to its batch size of them in one transaction. */
    private static final int MAX_COMMANDS_PER_MESSAGE = 64;
    /** Value and key characters per message at most, so one large value does not drag a dozen others along. */
    private static final int MAX_CHARS_PER_MESSAGE = 256 * 1024;
    private static final int MAX_QUEUED = 4096;

    private final Broker broker;
    private final String replyQueue;
    private final Channel publishChannel;
    private final Channel replyChannel;
    private final ReentrantLock publishLock = new ReentrantLock();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> unconfirmed = new ConcurrentSkipListMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<CommandOutcome>> awaitingOutcome = new ConcurrentHashMap<>();
    private final BlockingQueue<Outgoing> outgoing = new ArrayBlockingQueue<>(MAX_QUEUED);
    private final Thread publisher;
    private volatile boolean running = true;

    /** A synchronous command waiting for the publisher thread, and the future its broker confirm completes. */
    private record Outgoing(Command command, CompletableFuture<Void> confirmed) {
        int chars() {
            return command.key().length() + (command.value() == null ? 0 : command.value().length());
        }
    }

    public CommandBus(Broker broker) throws IOException {
        this.broker = broker;
        this.replyQueue = broker.settings().namePrefix() + ".replies." + UUID.randomUUID();
        this.publishChannel = broker.openChannel();
        publishChannel.confirmSelect();
        publishChannel.addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long deliveryTag, boolean multiple) {
                settle(deliveryTag, multiple, null);
            }

            @Override
            public void handleNack(long deliveryTag, boolean multiple) {
                settle(deliveryTag, multiple, new BrokerUnavailableException("Broker refused the command", null));
            }
        });
        publishChannel.addShutdownListener(cause -> failUnconfirmed(cause));
        this.replyChannel = broker.openChannel();
        // A fixed name (not server-named) so automatic recovery re-declares the very queue that
        // in-flight commands name in reply_to.
        replyChannel.queueDeclare(replyQueue, false, true, true, Map.of());
        DeliverCallback onReply = (tag, delivery) -> {
            try {
                CommandOutcome outcome = Json.read(delivery.getBody(), CommandOutcome.class);
                CompletableFuture<CommandOutcome> waiting = awaitingOutcome.remove(outcome.command());
                if (waiting != null) {
                    waiting.complete(outcome);
                }
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "Ignoring malformed reply: " + e.getMessage());
            }
        };
        replyChannel.basicConsume(replyQueue, true, onReply, tag -> { });
        this.publisher = Thread.ofVirtual().name("command-publisher").start(this::publishQueued);
    }

    /** Sends the command and waits for its outcome (committed, or refused by a precondition). */
    public CommandOutcome send(Command command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        CompletableFuture<CommandOutcome> outcome = new CompletableFuture<>();
        awaitingOutcome.put(command.id(), outcome);
        try {
            queue(command, deadline).whenComplete((ok, failure) -> {
                if (failure != null) {
                    outcome.completeExceptionally(failure);
                }
            });
            return await(outcome, command, deadline - System.nanoTime());
        } finally {
            awaitingOutcome.remove(command.id());
        }
    }

    /** A domain event this process has applied: if it is the change of a command sent from here, that is its outcome. */
    public void applied(DomainEvent event) {
        if (event.command() == null || awaitingOutcome.isEmpty()) {
            return;
        }
        CompletableFuture<CommandOutcome> waiting = awaitingOutcome.remove(event.command());
        if (waiting != null) {
            waiting.complete(new CommandOutcome(event.command(), CommandOutcome.APPLIED, event.revision()));
        }
    }

    /** Enqueues the command without waiting for the worker; returns once the broker has confirmed it. */
    public void enqueue(Command command, Duration timeout) {
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .deliveryMode(2)
                .messageId(command.id())
                .correlationId(command.id())
                .build();
        await(publish(props, Json.write(command)), command, timeout.toNanos());
    }

    /** Hands a synchronous command to the publisher thread; a full queue for the whole timeout is an outage. */
    private CompletableFuture<Void> queue(Command command, long deadline) {
        if (!connected()) {
            return CompletableFuture.failedFuture(new BrokerUnavailableException("Broker connection is down", null));
        }
        CompletableFuture<Void> confirmed = new CompletableFuture<>();
        try {
            if (!outgoing.offer(new Outgoing(command, confirmed), deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                return CompletableFuture.failedFuture(
                        new BrokerUnavailableException("Too many commands waiting for the broker", null));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new BrokerUnavailableException("Interrupted", e));
        }
        return confirmed;
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
                    if (chars + next.chars() > MAX_CHARS_PER_MESSAGE) {
                        carried = next;
                        break;
                    }
                    batch.add(next);
                    chars += next.chars();
                }
                publishBatch(batch);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                batch.forEach(o -> o.confirmed().completeExceptionally(e));
                LOG.log(Level.ERROR, "Publishing commands failed", e);
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

    private void publishBatch(List<Outgoing> batch) {
        Command first = batch.getFirst().command();
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .deliveryMode(1)
                .messageId(first.id())
                .correlationId(first.id())
                .replyTo(replyQueue)
                .headers(SYNC_HEADERS)
                .build();
        byte[] body = batch.size() == 1 ? Json.write(first) : Json.write(batch.stream().map(Outgoing::command).toList());
        CompletableFuture<Void> confirmed = batch.size() == 1 ? batch.getFirst().confirmed() : publishedTogether(batch);
        publish(props, body, confirmed);
    }

    private static CompletableFuture<Void> publishedTogether(List<Outgoing> batch) {
        List<CompletableFuture<Void>> each = batch.stream().map(Outgoing::confirmed).toList();
        CompletableFuture<Void> message = new CompletableFuture<>();
        message.whenComplete((ok, failure) -> each.forEach(f -> {
            if (failure == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(failure);
            }
        }));
        return message;
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

    private static RuntimeException failure(Command command, Throwable cause) {
        if (cause instanceof BrokerUnavailableException unavailable) {
            return unavailable;
        }
        if (cause instanceof OutcomeUnknownException) {
            return new CommandTimeoutException(command.id());
        }
        return new BrokerUnavailableException("Command not enqueued", cause);
    }

    /** Sent, but the connection dropped before the broker confirmed it. */
    private static final class OutcomeUnknownException extends RuntimeException {
        OutcomeUnknownException(Throwable cause) {
            super("Broker connection lost before the confirm", cause, false, false);
        }
    }

    public boolean connected() {
        return broker.isOpen() && publishChannel.isOpen();
    }

    private CompletableFuture<Void> publish(AMQP.BasicProperties props, byte[] body) {
        CompletableFuture<Void> confirmed = new CompletableFuture<>();
        publish(props, body, confirmed);
        return confirmed;
    }

    private void publish(AMQP.BasicProperties props, byte[] body, CompletableFuture<Void> confirmed) {
        if (!connected()) {
            confirmed.completeExceptionally(new BrokerUnavailableException("Broker connection is down", null));
            return;
        }
        publishLock.lock();
        try {
            // The sequence number and the publish must pair up, so they happen under one lock.
            long seq = publishChannel.getNextPublishSeqNo();
            unconfirmed.put(seq, confirmed);
            publishChannel.basicPublish("", broker.settings().commandQueue(), false, props, body);
        } catch (IOException | RuntimeException e) {
            confirmed.completeExceptionally(new BrokerUnavailableException("Cannot publish command", e));
        } finally {
            publishLock.unlock();
        }
    }

    private void settle(long deliveryTag, boolean multiple, RuntimeException failure) {
        ConcurrentNavigableMap<Long, CompletableFuture<Void>> settled = multiple
                ? unconfirmed.headMap(deliveryTag, true)
                : unconfirmed.subMap(deliveryTag, true, deliveryTag, true);
        settled.values().forEach(f -> {
            if (failure == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(failure);
            }
        });
        settled.clear();
    }

    /**
     * The connection dropped with commands sent but not confirmed: the broker may have stored them, so their
     * outcome is unknown (504), unlike a publish that could not even be sent (503).
     */
    private void failUnconfirmed(Throwable cause) {
        OutcomeUnknownException failure = new OutcomeUnknownException(cause);
        unconfirmed.values().forEach(f -> f.completeExceptionally(failure));
        unconfirmed.clear();
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
        closeQuietly(publishChannel);
        closeQuietly(replyChannel);
    }

    private static void closeQuietly(Channel channel) {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing channel", e);
        }
    }
}
