package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.domain.DomainEvent;

/**
 * Publishes committed events with publisher confirms: each batch as one message on the event batches exchange (a
 * large one as several, {@link EventCodec#MAX_BATCH_MESSAGE_BYTES}), which every kvstream process reads (far fewer
 * deliveries per write), and, with {@code publicEvents}, each event as its own message on the documented events
 * exchange. Transient messages: the outbox in PostgreSQL is the
 * durable copy, and a reader that misses one catches up from it.
 *
 * <p>The public feed costs the broker a message per event, most of it wasted while no queue is bound to the events
 * exchange. So each batch's first event goes out {@code mandatory}: the broker returns it if it reached no queue (and
 * returns it before it confirms it). While the previous batch's first event was returned, a batch sends only its
 * first, waits for the confirm, and sends the rest only if that one was routed. A queue bound to the exchange thus
 * gets every event of each batch sent after it was bound, in order: a run of revisions without a gap, as before.
 * A broker that refuses such a message instead of returning it (Qpid, in dev mode) gets every event.
 */
public final class EventPublisher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventPublisher.class.getName());
    private static final long CONFIRM_TIMEOUT_MILLIS = 10_000;
    private static final AMQP.BasicProperties PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();

    private final Names names;
    private final boolean publicEvents;
    /** Whether each batch's first public event goes out mandatory, to learn if a queue is bound. */
    private final boolean probePublicFeed;
    private final Channel channel;
    /**
     * Whether the broker returned the batch's first public event (set by the connection's reader). It is the only
     * message this channel sends mandatory, and RabbitMQ returns it before it confirms it, so once the confirm is in,
     * this holds the answer for the batch.
     */
    private volatile boolean firstPublicReturned;
    /** Whether the last batch's first event reached a queue; until the first batch, assume one is bound. */
    private boolean publicFeedBound = true;

    public EventPublisher(Broker broker, boolean publicEvents) throws IOException {
        this.names = broker.names();
        this.publicEvents = publicEvents;
        this.probePublicFeed = publicEvents && broker.returnsUnroutedMessages();
        this.channel = broker.openChannel();
        channel.addReturnListener(returned -> firstPublicReturned = true);
        channel.confirmSelect();
    }

    /** Returns once the broker has confirmed every message of the batch; throws if it did not. */
    public void publish(List<DomainEvent> events) throws IOException, InterruptedException, TimeoutException {
        EventCodec.Encoded encoded = EventCodec.encode(events);
        for (EventCodec.Part part : encoded.batch()) {
            AMQP.BasicProperties batchProps = PROPS.builder()
                    .headers(Map.of(EventCodec.LAST_REVISION_HEADER, part.lastRevision()))
                    .build();
            channel.basicPublish(names.eventBatchesExchange(), "", batchProps, part.body());
        }
        if (!probePublicFeed) {
            if (publicEvents) {
                publishPublic(encoded.singles());
            }
            channel.waitForConfirmsOrDie(CONFIRM_TIMEOUT_MILLIS);
            return;
        }
        List<byte[]> singles = encoded.singles();
        List<byte[]> rest = singles.subList(1, singles.size());
        firstPublicReturned = false;
        channel.basicPublish(names.eventsExchange(), "", true, PROPS, singles.getFirst());
        boolean restSent = publicFeedBound;
        if (restSent) {
            publishPublic(rest);
        }
        channel.waitForConfirmsOrDie(CONFIRM_TIMEOUT_MILLIS);
        boolean bound = !firstPublicReturned;
        if (bound && !restSent && !rest.isEmpty()) {
            publishPublic(rest);
            channel.waitForConfirmsOrDie(CONFIRM_TIMEOUT_MILLIS);
        }
        if (bound != publicFeedBound) {
            LOG.log(Level.INFO, bound
                    ? "A queue is bound to " + names.eventsExchange() + ": publishing every event there"
                    : "No queue is bound to " + names.eventsExchange() + ": publishing only each batch's first event"
                      + " there until one is");
            publicFeedBound = bound;
        }
    }

    /** True while the last batch's first event reached a queue on the events exchange, so every event goes there. */
    boolean publicFeedBound() {
        return publicFeedBound;
    }

    private void publishPublic(List<byte[]> singles) throws IOException {
        for (byte[] single : singles) {
            channel.basicPublish(names.eventsExchange(), "", PROPS, single);
        }
    }

    @Override
    public void close() {
        Channels.closeQuietly(channel);
    }
}
