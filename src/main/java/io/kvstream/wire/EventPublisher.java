package io.kvstream.wire;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.domain.DomainEvent;

/**
 * Publishes committed events with publisher confirms: each batch as one message on the event batches exchange,
 * which every kvstream process reads (far fewer deliveries per write), and, with {@code publicEvents}, each event
 * as its own message on the documented events exchange. Transient messages: the outbox in PostgreSQL is the
 * durable copy, and a reader that misses one catches up from it.
 */
public final class EventPublisher implements AutoCloseable {
    private static final long CONFIRM_TIMEOUT_MILLIS = 10_000;
    private static final AMQP.BasicProperties PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();

    private final Names names;
    private final boolean publicEvents;
    private final Channel channel;

    public EventPublisher(Broker broker, boolean publicEvents) throws IOException {
        this.names = broker.names();
        this.publicEvents = publicEvents;
        this.channel = broker.openChannel();
        channel.confirmSelect();
    }

    /** Returns once the broker has confirmed every message of the batch; throws if it did not. */
    public void publish(List<DomainEvent> events) throws IOException, InterruptedException, TimeoutException {
        EventCodec.Encoded encoded = EventCodec.encode(events);
        AMQP.BasicProperties batchProps = PROPS.builder()
                .headers(Map.of(EventCodec.LAST_REVISION_HEADER, events.getLast().revision()))
                .build();
        channel.basicPublish(names.eventBatchesExchange(), "", batchProps, encoded.batch());
        if (publicEvents) {
            for (byte[] single : encoded.singles()) {
                channel.basicPublish(names.eventsExchange(), "", PROPS, single);
            }
        }
        channel.waitForConfirmsOrDie(CONFIRM_TIMEOUT_MILLIS);
    }

    @Override
    public void close() {
        Channels.closeQuietly(channel);
    }
}
