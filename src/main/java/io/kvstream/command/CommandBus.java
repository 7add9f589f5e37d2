package io.kvstream.command;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
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
 * Many request threads publish at once; confirms arrive in batches and complete their futures together.
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

    private final Broker broker;
    private final String replyQueue;
    private final Channel publishChannel;
    private final Channel replyChannel;
    private final ReentrantLock publishLock = new ReentrantLock();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> unconfirmed = new ConcurrentSkipListMap<>();
    private final ConcurrentHashMap<String, CompletableFuture<CommandOutcome>> awaitingOutcome = new ConcurrentHashMap<>();

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
    }

    /** Sends the command and waits for its outcome (committed, or refused by a precondition). */
    public CommandOutcome send(Command command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        CompletableFuture<CommandOutcome> outcome = new CompletableFuture<>();
        awaitingOutcome.put(command.id(), outcome);
        try {
            publish(command, true).whenComplete((ok, failure) -> {
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
        await(publish(command, false), command, timeout.toNanos());
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

    private CompletableFuture<Void> publish(Command command, boolean wantsReply) {
        if (!connected()) {
            return CompletableFuture.failedFuture(new BrokerUnavailableException("Broker connection is down", null));
        }
        AMQP.BasicProperties.Builder props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .deliveryMode(wantsReply ? 1 : 2)
                .messageId(command.id())
                .correlationId(command.id());
        if (wantsReply) {
            props.replyTo(replyQueue).headers(SYNC_HEADERS);
        }
        byte[] body = Json.write(command);
        CompletableFuture<Void> confirmed = new CompletableFuture<>();
        publishLock.lock();
        try {
            // The sequence number and the publish must pair up, so they happen under one lock.
            long seq = publishChannel.getNextPublishSeqNo();
            unconfirmed.put(seq, confirmed);
            publishChannel.basicPublish("", broker.settings().commandQueue(), false, props.build(), body);
        } catch (IOException | RuntimeException e) {
            confirmed.completeExceptionally(new BrokerUnavailableException("Cannot publish command", e));
        } finally {
            publishLock.unlock();
        }
        return confirmed;
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
