package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConfirmListener;
import com.rabbitmq.client.Return;
import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;

/**
 * An API process's end of the command queue: publishes commands with publisher confirms and hands the worker's
 * replies, which arrive on this process's own reply queue, to {@code onReply}. A confirm completes the future of its
 * message; a connection that drops first fails it with {@link OutcomeUnknownException} (the broker may have stored
 * the message), a publish that cannot even be sent with {@link BrokerUnavailableException}.
 * <p>
 * Commands someone waits for are published transient: if the broker loses one before a worker commits it, the caller
 * gets the "may still apply" timeout that any lost answer gives. Commands nobody waits for are persistent.
 * <p>
 * With {@code kvstream.amqp.sync-command-lane=worker-queues} the commands someone waits for go to the random exchange
 * of the workers' own queues, mandatory: when no worker queue is bound (all workers paused, stopping or reconnecting)
 * the broker returns the message, and it is published again to the command queue, whose confirm then completes its
 * future. The broker sends the return before the confirm of the same publish, so the return takes the future out of
 * the unconfirmed ones first and that confirm finds nothing to complete.
 */
public final class CommandSender implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandSender.class.getName());
    /** How long a replaced channel waits for the confirms of what it published before it is closed anyway. */
    private static final Duration RETIRE_PATIENCE = Duration.ofSeconds(30);
    private static final Duration RETIRE_POLL = Duration.ofMillis(100);
    /** A refusal lasts while a queue has no leader: one line for it, not one per retry. */
    private static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(10);
    /** The publish sequence number of a command sent to the workers' queues, by which a return finds its future. */
    private static final String PUBLISH_SEQ_HEADER = "kvstream-publish-seq";

    private final Broker broker;
    private final String commandQueue;
    /** Null unless synchronous commands go to the workers' own queues. */
    private final String syncCommandsExchange;
    private final String replyQueue;
    private final Subscription replies;
    private final ReentrantLock publishLock = new ReentrantLock();
    /** Replaced under {@link #publishLock} when the broker closed it alone (a channel error). */
    private volatile Lane lane;
    /** When a refusal was last logged (System.nanoTime); written under {@link #publishLock}. */
    private long lastRefusalLogged = System.nanoTime() - REFUSAL_LOG_INTERVAL.toNanos();

    /**
     * A publishing channel and the futures of its messages not yet confirmed, by publish sequence number;
     * {@code refused}: the broker nacked a message of it, so the next publish takes a fresh channel.
     */
    private record Lane(Channel channel, ConcurrentSkipListMap<Long, CompletableFuture<Void>> unconfirmed,
                        AtomicBoolean refused) {
    }

    public CommandSender(Broker broker, Consumer<CommandOutcome> onReply) throws IOException {
        this.broker = broker;
        this.commandQueue = broker.names().commandQueue();
        this.syncCommandsExchange = broker.syncCommandLane() == Settings.SyncCommandLane.WORKER_QUEUES
                ? broker.names().syncCommandsExchange() : null;
        this.replyQueue = broker.names().replyQueue(UUID.randomUUID().toString());
        this.lane = openLane();
        this.replies = Subscription.toOwnQueue(broker, replyQueue, "reply",
                                               message -> onReply.accept(Json.read(message.body(), CommandOutcome.class)));
    }

    private Lane openLane() throws IOException {
        Lane opened = new Lane(broker.openChannel(), new ConcurrentSkipListMap<>(), new AtomicBoolean());
        opened.channel().confirmSelect();
        opened.channel().addConfirmListener(new ConfirmListener() {
            @Override
            public void handleAck(long deliveryTag, boolean multiple) {
                settle(opened, deliveryTag, multiple, null);
            }

            @Override
            public void handleNack(long deliveryTag, boolean multiple) {
                opened.refused().set(true);
                settle(opened, deliveryTag, multiple, BrokerUnavailableException.refusedByBroker());
            }
        });
        opened.channel().addReturnListener(returned -> sendReturnedToCommandQueue(opened, returned));
        opened.channel().addShutdownListener(cause -> failUnconfirmed(opened, cause));
        return opened;
    }

    /**
     * No worker queue took a synchronous command: it goes to the command queue instead, under the same future. Runs
     * on the connection's reading thread, which must not publish (a publish may block while that thread delivers the
     * confirms), so the publish itself is left to a thread of its own.
     */
    private void sendReturnedToCommandQueue(Lane lane, Return returned) {
        Map<String, Object> headers = returned.getProperties().getHeaders();
        Object seq = headers == null ? null : headers.get(PUBLISH_SEQ_HEADER);
        CompletableFuture<Void> confirmed = seq instanceof Number n ? lane.unconfirmed().remove(n.longValue()) : null;
        if (confirmed == null) {
            return;
        }
        LOG.log(Level.DEBUG, "No worker queue bound (" + returned.getReplyText() + "); command "
                             + returned.getProperties().getMessageId() + " goes to the command queue");
        Thread.ofVirtual().name("command-return").start(
                () -> publish(false, returned.getProperties(), returned.getBody(), confirmed));
    }

    /**
     * Publishes commands someone waits for, as one message: the worker answers applied ones by their events, the
     * others on this process's reply queue.
     */
    public void sendAwaitingOutcome(List<Command> commands, CompletableFuture<Void> confirmed) {
        String first = commands.getFirst().id();
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .deliveryMode(1)
                .messageId(first)
                .correlationId(first)
                .replyTo(replyQueue)
                .headers(CommandCodec.REPLY_UNLESS_APPLIED_HEADERS)
                .build();
        publish(syncCommandsExchange != null, props, CommandCodec.encode(commands), confirmed);
    }

    /** Publishes commands nobody waits for, persistent, as one message; {@code confirmed} completes when the broker has it. */
    public void sendDurable(List<Command> commands, CompletableFuture<Void> confirmed) {
        String first = commands.getFirst().id();
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .deliveryMode(2)
                .messageId(first)
                .correlationId(first)
                .build();
        publish(false, props, CommandCodec.encode(commands), confirmed);
    }

    /**
     * Whether the broker has blocked the connection (a memory or disk alarm): it reads no more of what is sent, so a
     * send may wait until the alarm ends.
     */
    public boolean blocked() {
        return broker.isBlocked();
    }

    /** Whether a message sent on the current channel still waits for the broker's confirm. */
    public boolean awaitingConfirms() {
        return !lane.unconfirmed().isEmpty();
    }

    /** Whether commands can be sent: the connection is up (a channel the broker closed alone is opened again). */
    public boolean connected() {
        return broker.isOpen();
    }

    /** {@code toWorkerQueues}: to the random exchange, mandatory; otherwise to the command queue. */
    private void publish(boolean toWorkerQueues, AMQP.BasicProperties props, byte[] body,
                         CompletableFuture<Void> confirmed) {
        if (!connected()) {
            confirmed.completeExceptionally(new BrokerUnavailableException("Broker connection is down", null));
            return;
        }
        publishLock.lock();
        try {
            Lane current = lane;
            if (!current.channel().isOpen()) {
                // The connection is up but the broker closed this channel (a channel error, e.g. while a queue's
                // leader moved); the client recovers channels only with their connection, so open another.
                LOG.log(Level.WARNING, "Command channel closed by the broker (" + current.channel().getCloseReason()
                                       + "); opening another");
                Channels.closeQuietly(current.channel());
                current = openLane();
                lane = current;
            } else if (current.refused().get()) {
                // A channel keeps its own view of a quorum queue's leader: after a nack, publish on a fresh one. The
                // old one is closed once its last message is settled, so no confirm in flight is lost with it.
                long now = System.nanoTime();
                if (now - lastRefusalLogged > REFUSAL_LOG_INTERVAL.toNanos()) {
                    lastRefusalLogged = now;
                    LOG.log(Level.WARNING, "The broker refused a command; trying again on a fresh channel");
                }
                retire(current);
                current = openLane();
                lane = current;
            }
            // The sequence number and the publish must pair up, so they happen under one lock.
            long seq = current.channel().getNextPublishSeqNo();
            current.unconfirmed().put(seq, confirmed);
            if (toWorkerQueues) {
                current.channel().basicPublish(syncCommandsExchange, "", true, withPublishSeq(props, seq), body);
            } else {
                current.channel().basicPublish("", commandQueue, false, props, body);
            }
        } catch (IOException | RuntimeException e) {
            confirmed.completeExceptionally(new BrokerUnavailableException("Cannot publish command", e));
        } finally {
            publishLock.unlock();
        }
    }

    /** Closes {@code retired} once nothing it published waits for a confirm (or after the confirm timeout). */
    private static void retire(Lane retired) {
        Thread.ofVirtual().name("command-channel-retire").start(() -> {
            long deadline = System.nanoTime() + RETIRE_PATIENCE.toNanos();
            while (!retired.unconfirmed().isEmpty() && retired.channel().isOpen() && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(RETIRE_POLL);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            Channels.closeQuietly(retired.channel());
        });
    }

    private static AMQP.BasicProperties withPublishSeq(AMQP.BasicProperties props, long seq) {
        Map<String, Object> headers = new HashMap<>(props.getHeaders() == null ? Map.of() : props.getHeaders());
        headers.put(PUBLISH_SEQ_HEADER, seq);
        return props.builder().headers(headers).build();
    }

    private static void settle(Lane lane, long deliveryTag, boolean multiple, RuntimeException failure) {
        ConcurrentNavigableMap<Long, CompletableFuture<Void>> settled = multiple
                ? lane.unconfirmed().headMap(deliveryTag, true)
                : lane.unconfirmed().subMap(deliveryTag, true, deliveryTag, true);
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
     * outcome is unknown, unlike a publish that could not even be sent.
     */
    private static void failUnconfirmed(Lane lane, Throwable cause) {
        LOG.log(Level.DEBUG, "Command channel closed with " + lane.unconfirmed().size() + " unconfirmed message(s)");
        OutcomeUnknownException failure = new OutcomeUnknownException(cause);
        lane.unconfirmed().values().forEach(f -> f.completeExceptionally(failure));
        lane.unconfirmed().clear();
    }

    @Override
    public void close() {
        Channels.closeQuietly(lane.channel());
        replies.close();
    }
}
