package io.kvstream.ws;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.Broker;
import io.kvstream.Json;

/**
 * Connection opened/closed events shared by every WebSocket process over the presence fanout exchange. Each
 * process consumes from its own exclusive, server-named queue (re-created by the client after a broker outage),
 * and hears its own announcements too, so every client of every process sees the same presence events.
 * Presence is best effort: no revision, not stored, and an announcement made while the broker is away is lost.
 */
final class PresenceFeed implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PresenceFeed.class.getName());
    private static final AMQP.BasicProperties PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();

    private final Broker broker;
    private final Channel consuming;
    private final Channel publishing;

    PresenceFeed(Broker broker, Consumer<Envelope> onPresence) throws IOException {
        this.broker = broker;
        this.consuming = broker.openChannel();
        String queue = consuming.queueDeclare("", false, true, true, Map.of()).getQueue();
        consuming.queueBind(queue, broker.settings().presenceExchange(), "");
        consuming.basicConsume(queue, true, (tag, delivery) -> {
            Envelope envelope;
            try {
                envelope = Json.read(delivery.getBody(), Envelope.class);
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "Ignoring malformed presence event: " + e.getMessage());
                return;
            }
            if (envelope.announcesConnection()) {
                onPresence.accept(envelope);
            }
        }, tag -> { });
        this.publishing = broker.openChannel();
    }

    /** Announces a connection event to every WebSocket process, this one included. */
    void publish(Envelope envelope) {
        try {
            synchronized (publishing) {
                publishing.basicPublish(broker.settings().presenceExchange(), "", PROPS, Json.write(envelope));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Presence event not published (" + e.getMessage() + ")");
        }
    }

    @Override
    public void close() {
        for (Channel channel : new Channel[] {consuming, publishing}) {
            try {
                if (channel.isOpen()) {
                    channel.close();
                }
            } catch (IOException | TimeoutException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Closing presence channel", e);
            }
        }
    }
}
