package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;
import com.rabbitmq.client.GetResponse;
import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;

/**
 * A worker's end of the command queue: consumes with manual acks and a prefetch window, hands each message to
 * {@code onMessage} (from the client's delivery thread), answers reply queues, and acks or requeues up to a delivery
 * tag. What no worker can ever apply (malformed JSON, a command that is not well formed) is left out of the
 * message's commands and acked with it, not redelivered for ever.
 * <p>
 * With {@code kvstream.amqp.sync-command-lane=worker-queues} it also consumes this worker's own queue (its lane),
 * where the random exchange puts synchronous commands: exclusive, so it goes with this worker's connection (and with
 * the broker node it lives on), and server-named, so the client's recovery declares a new one, binds it and consumes it
 * again after a reconnect. Both consumers share one channel, so one ack through a delivery tag covers both. What the
 * lane holds when the worker stops taking commands is dead-lettered to the command queue (the queue's
 * {@code x-dead-letter-*} arguments), where another worker commits it.
 */
public final class CommandReceiver implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandReceiver.class.getName());

    /**
     * One message from the command queue or this worker's lane ({@code fromLane}): its well-formed commands and how
     * to answer them.
     */
    public record Incoming(List<Command> commands, long deliveryTag, String replyTo, boolean answeredByEvent,
                           boolean fromLane) {
        /** Whether the sender waits for a reply message when a command of this message has this outcome. */
        public boolean wantsReply(CommandOutcome outcome) {
            return replyTo != null && !replyTo.isBlank() && !(answeredByEvent && outcome.announcedByEvent());
        }
    }

    /** A dead-lettered message carries this header (the broker's account of where it has been). */
    private static final String DEATH_HEADER = "x-death";

    private final String queue;
    private final Channel channel;
    private final Consumer<Incoming> onMessage;
    /** Null unless synchronous commands come to this worker's own queue. */
    private final String syncCommandsExchange;
    /** This worker's lane: the server's name for it, which a recovery changes. */
    private volatile String laneQueue;
    /** Guards subscribing against stopping. */
    private final Object subscription = new Object();
    private String consumerTag;
    private String laneConsumerTag;
    private boolean stopped;

    public CommandReceiver(Broker broker, Consumer<Incoming> onMessage) throws IOException {
        this.queue = broker.names().commandQueue();
        this.onMessage = onMessage;
        this.channel = broker.openChannel();
        if (broker.syncCommandLane() == Settings.SyncCommandLane.WORKER_QUEUES) {
            this.syncCommandsExchange = broker.names().syncCommandsExchange();
            // Not auto-deleted: the consumer is cancelled while the worker pauses, and the queue must outlive that.
            this.laneQueue = channel.queueDeclare("", false, true, false, Map.of(
                    "x-queue-type", "classic",
                    "x-dead-letter-exchange", "",
                    "x-dead-letter-routing-key", queue)).getQueue();
            broker.onQueueRenamed((oldName, newName) -> {
                if (oldName.equals(laneQueue)) {
                    laneQueue = newName;
                }
            });
        } else {
            this.syncCommandsExchange = null;
        }
    }

    /**
     * Consumes with at most {@code prefetch} messages delivered and not yet acknowledged (from each queue), the lane
     * bound to the exchange.
     */
    private void start(int prefetch) throws IOException {
        synchronized (subscription) {
            if (stopped) {
                return;
            }
            try {
                // A consumer's prefetch is the one set on its channel when it subscribes.
                channel.basicQos(prefetch);
                consumerTag = channel.basicConsume(queue, false,
                                                   (tag, delivery) -> onMessage.accept(incoming(delivery, false)),
                                                   tag -> { });
                if (syncCommandsExchange != null) {
                    laneConsumerTag = channel.basicConsume(laneQueue, false,
                                                           (tag, delivery) -> onMessage.accept(incoming(delivery, true)),
                                                           tag -> { });
                    channel.queueBind(laneQueue, syncCommandsExchange, "");
                }
            } catch (IOException | RuntimeException e) {
                // All or nothing, so that consuming() tells the whole story and the next resume starts afresh: a
                // command consumer without its lane's binding would be recovered that way for good.
                try {
                    cancelConsumers();
                } catch (IOException | RuntimeException cancelFailed) {
                    e.addSuppressed(cancelFailed);
                }
                throw e;
            }
        }
    }

    /**
     * Unbinds the lane, then cancels the consumers, the latter even if the former fails. The client forgets a binding
     * or a consumer before it asks the broker (so neither comes back with a recovery, whether the broker heard or not):
     * stopping half way would leave a consumer that the recovery brings back without the binding its senders need.
     */
    private void unsubscribe() throws IOException {
        try {
            unbindLane();
        } finally {
            cancelConsumers();
        }
    }

    /** Cancels whichever consumers are subscribed; each is forgotten (out of the recovery) even if its cancel fails. */
    private void cancelConsumers() throws IOException {
        try {
            if (consumerTag != null) {
                String tag = consumerTag;
                consumerTag = null;
                channel.basicCancel(tag);
            }
        } finally {
            if (laneConsumerTag != null) {
                String tag = laneConsumerTag;
                laneConsumerTag = null;
                channel.basicCancel(tag);
            }
        }
    }

    /** Whether the command queue's consumer is subscribed (or will be, by the connection's recovery). */
    public boolean consuming() {
        synchronized (subscription) {
            return consumerTag != null;
        }
    }

    private static Incoming incoming(Delivery delivery, boolean fromLane) {
        List<Command> parsed;
        try {
            parsed = CommandCodec.decode(delivery.getBody());
        } catch (IllegalArgumentException e) {
            parsed = List.of();
        }
        List<Command> wellFormed = parsed.stream().filter(c -> c != null && c.wellFormed()).toList();
        if (wellFormed.isEmpty() || wellFormed.size() != parsed.size()) {
            LOG.log(Level.WARNING, "Dropping " + (parsed.size() - wellFormed.size()) + " of " + parsed.size()
                                   + " commands (malformed) in message " + delivery.getProperties().getMessageId());
        }
        // A redelivered command's outcome may come from an earlier attempt, whose event the sender may have
        // applied before it waited: it is answered by a reply, which is rare and certain. A command a worker handed
        // back from its lane (dead-lettered) is such a second delivery too, though the broker does not flag it.
        Map<String, Object> headers = delivery.getProperties().getHeaders();
        boolean answeredByEvent = !delivery.getEnvelope().isRedeliver()
                                  && !(headers != null && headers.containsKey(DEATH_HEADER))
                                  && CommandCodec.repliesUnlessApplied(headers);
        return new Incoming(wellFormed, delivery.getEnvelope().getDeliveryTag(), delivery.getProperties().getReplyTo(),
                            answeredByEvent, fromLane);
    }

    public void reply(Incoming incoming, CommandOutcome outcome) throws IOException {
        if (!incoming.wantsReply(outcome)) {
            return;
        }
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .correlationId(outcome.command())
                .build();
        channel.basicPublish("", incoming.replyTo(), props, Json.write(outcome));
    }

    /** Acknowledges every message up to and including {@code deliveryTag}. */
    public void ackThrough(long deliveryTag) throws IOException {
        channel.basicAck(deliveryTag, true);
    }

    /**
     * Hands messages back for the workers that can commit them: those of the command queue to it, those of the lane
     * to the command queue (dead-lettered), since the lane's only consumer is this worker.
     */
    public void handBack(List<Incoming> messages) {
        try {
            for (Incoming message : messages) {
                channel.basicReject(message.deliveryTag(), !message.fromLane());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Reject failed; the broker redelivers unacked commands anyway", e);
        }
    }

    /**
     * Takes no more deliveries until {@link #resume}; those already handed over are still answered and acked (or
     * handed back). The lane is unbound first, so no new command is routed to it (the senders' commands go to the
     * command queue meanwhile), and what it holds goes to the command queue. The queue's other consumers get its
     * messages meanwhile. With the broker away it throws, and this worker consumes nothing after the recovery either.
     */
    public void pause(Duration patience) throws IOException {
        synchronized (subscription) {
            unsubscribe();
        }
        handBackLane(patience);
    }

    /** Consumes (at first, or again after {@link #pause}) with at most {@code prefetch} messages unacknowledged. */
    public void resume(int prefetch) throws IOException {
        synchronized (subscription) {
            if (consumerTag == null) {
                start(prefetch);
            }
        }
    }

    /**
     * Stops the deliveries, the lane unbound first; those already handed over are still answered and acked. Whatever
     * the lane still holds is for {@link #handBackLane}, once they are.
     */
    public void stopConsuming() {
        synchronized (subscription) {
            stopped = true;
            try {
                unsubscribe();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Cancel failed", e);
            }
        }
    }

    /** Unbinding what is not bound changes nothing, so this does not depend on what was subscribed. */
    private void unbindLane() throws IOException {
        if (syncCommandsExchange != null) {
            channel.queueUnbind(laneQueue, syncCommandsExchange, "");
        }
    }

    /**
     * Hands what waits in the lane, unbound and no longer consumed, to the command queue (dead-lettered), for at most
     * {@code patience}; what is left after that is lost with the lane, and its senders time out ("may still apply").
     * Called when nothing else acks on the channel (an ack through a tag would cover these messages too).
     */
    public void handBackLane(Duration patience) {
        if (syncCommandsExchange == null) {
            return;
        }
        long deadline = System.nanoTime() + patience.toNanos();
        int handedBack = 0;
        try {
            GetResponse message;
            while (System.nanoTime() - deadline < 0 && (message = channel.basicGet(laneQueue, false)) != null) {
                channel.basicReject(message.getEnvelope().getDeliveryTag(), false);
                handedBack++;
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "Could not hand the lane's commands back (" + e.getMessage() + "); their senders "
                                   + "time out");
        }
        if (handedBack > 0) {
            LOG.log(Level.INFO, handedBack + " message(s) of this worker's lane handed to the command queue");
        }
    }

    @Override
    public void close() {
        Channels.closeQuietly(channel);
    }
}
