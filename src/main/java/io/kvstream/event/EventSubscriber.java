package io.kvstream.event;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import com.rabbitmq.client.Channel;
import io.kvstream.Broker;
import io.kvstream.Json;

/**
 * This process's subscription to the event batches exchange: a server-named, exclusive queue bound to the
 * fanout, so every process gets every event. A message holds the events of one committed batch as a JSON array.
 * The client re-creates queue, binding and consumer after a broker outage; what was published meanwhile is
 * fetched from the event log by the {@link EventSequencer}.
 */
public final class EventSubscriber implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventSubscriber.class.getName());

    private final Channel channel;

    public EventSubscriber(Broker broker, Consumer<DomainEvent> onEvent) throws IOException {
        this.channel = broker.openChannel();
        String queue = channel.queueDeclare("", false, true, true, Map.of()).getQueue();
        channel.queueBind(queue, broker.settings().eventBatchesExchange(), "");
        channel.basicConsume(queue, true, (tag, delivery) -> {
            DomainEvent[] events;
            try {
                events = Json.read(delivery.getBody(), DomainEvent[].class);
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "Ignoring malformed event: " + e.getMessage());
                return;
            }
            for (DomainEvent event : events) {
                if (event != null) {
                    onEvent.accept(event);
                }
            }
        }, tag -> { });
    }

    @Override
    public void close() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing channel", e);
        }
    }
}
