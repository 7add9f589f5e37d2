package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.function.Consumer;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;

/**
 * A worker's end of the command queue: consumes with manual acks and a prefetch window, hands each message to
 * {@code onMessage} (from the client's delivery thread), answers reply queues, and acks or requeues up to a delivery
 * tag. What no worker can ever apply (malformed JSON, a command that is not well formed) is left out of the
 * message's commands and acked with it, not redelivered for ever.
 */
public final class CommandReceiver implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandReceiver.class.getName());

    /** One message from the command queue: its well-formed commands and how to answer them. */
    public record Incoming(List<Command> commands, long deliveryTag, String replyTo, boolean answeredByEvent) {
        /** Whether the sender waits for a reply message when a command of this message has this outcome. */
        public boolean wantsReply(CommandOutcome outcome) {
            return replyTo != null && !replyTo.isBlank() && !(answeredByEvent && outcome.announcedByEvent());
        }
    }

    private final String queue;
    private final Channel channel;
    private final Consumer<Incoming> onMessage;
    /** Guards subscribing against stopping. */
    private final Object subscription = new Object();
    private String consumerTag;
    private boolean stopped;

    public CommandReceiver(Broker broker, Consumer<Incoming> onMessage) throws IOException {
        this.queue = broker.names().commandQueue();
        this.onMessage = onMessage;
        this.channel = broker.openChannel();
    }

    /** Consumes with at most {@code prefetch} messages delivered and not yet acknowledged. */
    private void start(int prefetch) throws IOException {
        synchronized (subscription) {
            if (stopped) {
                return;
            }
            // A consumer's prefetch is the one set on its channel when it subscribes.
            channel.basicQos(prefetch);
            consumerTag = channel.basicConsume(queue, false, (tag, delivery) -> onMessage.accept(incoming(delivery)),
                                               tag -> { });
        }
    }

    private static Incoming incoming(Delivery delivery) {
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
        // applied before it waited: it is answered by a reply, which is rare and certain.
        boolean answeredByEvent = !delivery.getEnvelope().isRedeliver()
                                  && CommandCodec.repliesUnlessApplied(delivery.getProperties().getHeaders());
        return new Incoming(wellFormed, delivery.getEnvelope().getDeliveryTag(), delivery.getProperties().getReplyTo(),
                            answeredByEvent);
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

    /** Hands every unacknowledged message up to {@code deliveryTag} back to the queue. */
    public void requeueThrough(long deliveryTag) {
        try {
            channel.basicNack(deliveryTag, true, true);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Nack failed; the broker redelivers unacked commands anyway", e);
        }
    }

    /**
     * Takes no more deliveries until {@link #resume}; those already handed over are still answered and acked (or
     * requeued). The queue's other consumers get its messages meanwhile.
     */
    public void pause() throws IOException {
        synchronized (subscription) {
            if (consumerTag != null) {
                channel.basicCancel(consumerTag);
                consumerTag = null;
            }
        }
    }

    /** Consumes (at first, or again after {@link #pause}) with at most {@code prefetch} messages unacknowledged. */
    public void resume(int prefetch) throws IOException {
        synchronized (subscription) {
            if (consumerTag == null) {
                start(prefetch);
            }
        }
    }

    /** Stops the deliveries; those already handed over are still answered and acked. */
    public void stopConsuming() {
        synchronized (subscription) {
            stopped = true;
            try {
                if (consumerTag != null && channel.isOpen()) {
                    channel.basicCancel(consumerTag);
                }
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Cancel failed", e);
            }
        }
    }

    @Override
    public void close() {
        Channels.closeQuietly(channel);
    }
}
