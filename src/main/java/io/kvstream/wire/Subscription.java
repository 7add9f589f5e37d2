package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.function.Consumer;

import com.rabbitmq.client.Channel;

/**
 * The one way kvstream listens to the broker without acknowledging: an exclusive, auto-deleted queue of this
 * process (bound to a fanout exchange, or named so that senders can address it), consumed with automatic acks.
 * The client re-creates queue, binding and consumer after a broker outage. A message the handler cannot read
 * ({@link IllegalArgumentException}) is logged and skipped; it never stops the subscription. The handler runs on the
 * connection's reading thread and must not wait ({@link ReadingThreadExecutor}).
 */
final class Subscription implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Subscription.class.getName());

    /** What a handler gets of a delivery. */
    record Message(byte[] body, String type, Map<String, Object> headers) {
    }

    private final Channel channel;

    private Subscription(Channel channel) {
        this.channel = channel;
    }

    /** A server-named queue bound to {@code exchange}: this process gets every message published there. */
    static Subscription toFanout(Broker broker, String exchange, String what, Consumer<Message> handler)
            throws IOException {
        Channel channel = broker.openChannel();
        String queue = channel.queueDeclare("", false, true, true, Map.of()).getQueue();
        channel.queueBind(queue, exchange, "");
        return consume(channel, queue, what, handler);
    }

    /**
     * A queue of this name, for messages sent to it directly. A fixed name (not server-named) so that automatic
     * recovery re-declares the very queue that messages in flight are addressed to.
     */
    static Subscription toOwnQueue(Broker broker, String queue, String what, Consumer<Message> handler)
            throws IOException {
        Channel channel = broker.openChannel();
        channel.queueDeclare(queue, false, true, true, Map.of());
        return consume(channel, queue, what, handler);
    }

    private static Subscription consume(Channel channel, String queue, String what, Consumer<Message> handler)
            throws IOException {
        channel.basicConsume(queue, true, (tag, delivery) -> {
            try {
                handler.accept(new Message(delivery.getBody(), delivery.getProperties().getType(),
                                           delivery.getProperties().getHeaders()));
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "Ignoring malformed " + what + ": " + e.getMessage());
            }
        }, tag -> { });
        return new Subscription(channel);
    }

    @Override
    public void close() {
        Channels.closeQuietly(channel);
    }
}
