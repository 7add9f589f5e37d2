package io.kvstream.wire;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The public events exchange gets each event as its own message only while a queue is bound to it: otherwise only
 * each batch's first, which the broker returns. A queue bound at any moment gets every event of each batch published
 * after that, in order, and the replication exchange gets every batch whatever is bound. Against the real broker;
 * the embedded dev broker (Qpid) refuses a returned message, so there every event is published, bound or not.
 */
class EventPublisherTest {
    private final Settings settings = TestServices.settings(Settings.Role.WORKER, "unused",
                                                            TestServices.uniqueName("publisher"));
    private final Names names = new Names(settings.amqp().namePrefix());
    private Broker broker;
    private Connection connection;
    private Channel channel;

    @BeforeEach
    void openBrokerAndTaps() throws Exception {
        broker = Broker.connect(settings.amqp(), "publisher-test", Duration.ofSeconds(30));
        connection = tapConnection();
        channel = connection.createChannel();
    }

    @AfterEach
    void closeBrokerAndTaps() throws Exception {
        channel.close();
        connection.close();
        broker.close();
    }

    @Test
    void eachEventReachesThePublicFeedOnlyWhileAQueueIsBound() throws Exception {
        try (EventPublisher publisher = new EventPublisher(broker, true)) {
            boolean probes = broker.returnsUnroutedMessages();
            // The test broker, when one is given, is RabbitMQ: there the probe must be what runs.
            assertThat(probes || System.getenv("KVSTREAM_TEST_AMQP_URI") == null, is(true));
            String batchTap = tap(channel, names.eventBatchesExchange());

            publisher.publish(batch(1, 3));
            assertThat(publisher.publicFeedBound(), is(!probes));
            publisher.publish(batch(4, 6));
            assertThat(publisher.publicFeedBound(), is(!probes));

            String publicTap = tap(channel, names.eventsExchange());
            // The first batch after the binding: its first event is routed, so the rest follow it.
            publisher.publish(batch(7, 9));
            assertThat(publisher.publicFeedBound(), is(true));
            publisher.publish(batch(10, 10));
            publisher.publish(batch(11, 13));
            assertThat(revisions(channel, publicTap), is(range(7, 13)));

            channel.queueUnbind(publicTap, names.eventsExchange(), "");
            publisher.publish(batch(14, 15));
            assertThat(publisher.publicFeedBound(), is(!probes));
            channel.queueBind(publicTap, names.eventsExchange(), "");
            publisher.publish(batch(16, 18));
            assertThat(publisher.publicFeedBound(), is(true));
            assertThat(revisions(channel, publicTap), is(range(16, 18)));

            assertThat(revisions(channel, batchTap), is(range(1, 18)));
        }
    }

    @Test
    void withoutPublicEventsNothingReachesThePublicFeed() throws Exception {
        try (EventPublisher publisher = new EventPublisher(broker, false)) {
            String batchTap = tap(channel, names.eventBatchesExchange());
            String publicTap = tap(channel, names.eventsExchange());

            publisher.publish(batch(1, 3));

            assertThat(revisions(channel, publicTap), is(List.of()));
            assertThat(revisions(channel, batchTap), is(range(1, 3)));
        }
    }

    /**
     * A commit of many large values goes out as several batch messages, in order, each at most the bound or one
     * event alone, and each naming its own last revision: one message of them all could pass what a broker or a
     * client takes (RabbitMQ 4's max_message_size, the client's 64 MiB), and the refused message stopped replication.
     */
    @Test
    void aLargeBatchGoesOutAsSeveralMessagesInOrder() throws Exception {
        try (EventPublisher publisher = new EventPublisher(broker, false)) {
            String batchTap = tap(channel, names.eventBatchesExchange());
            // Ten values of 1 MiB, and one of control characters that is 6 MiB alone as JSON.
            List<DomainEvent> large = new ArrayList<>();
            for (long r = 1; r <= 10; r++) {
                large.add(DomainEvent.put("big" + r, "v".repeat(1 << 20), r, "c" + r, "2026-11-30T00:00:00Z"));
            }
            large.add(DomainEvent.put("escaped", "\u0001".repeat(1 << 20), 11, "c11", "2026-11-30T00:00:00Z"));
            large.add(DomainEvent.put("small", "v", 12, "c12", "2026-11-30T00:00:00Z"));

            publisher.publish(large);

            List<Long> revisions = new ArrayList<>();
            List<Integer> perMessage = new ArrayList<>();
            for (GetResponse message; (message = channel.basicGet(batchTap, true)) != null; ) {
                DomainEvent[] events = Json.read(message.getBody(), DomainEvent[].class);
                assertThat(message.getBody().length <= EventCodec.MAX_BATCH_MESSAGE_BYTES || events.length == 1,
                           is(true));
                assertThat(message.getProps().getHeaders().get(EventCodec.LAST_REVISION_HEADER).toString(),
                           is(String.valueOf(events[events.length - 1].revision())));
                perMessage.add(events.length);
                for (DomainEvent event : events) {
                    revisions.add(event.revision());
                }
            }
            assertThat(revisions, is(range(1, 12)));
            assertThat(perMessage, is(List.of(3, 3, 3, 1, 1, 1)));
        }
    }

    private static List<DomainEvent> batch(long first, long last) {
        return LongStream.rangeClosed(first, last)
                .mapToObj(r -> DomainEvent.put("k" + r, "v" + r, r, "c" + r, "2026-11-30T00:00:00Z"))
                .toList();
    }

    private static List<Long> range(long first, long last) {
        return LongStream.rangeClosed(first, last).boxed().toList();
    }

    /** Every revision waiting on the queue, from batch or single messages alike, in arrival order. */
    private static List<Long> revisions(Channel channel, String queue) throws Exception {
        List<Long> revisions = new ArrayList<>();
        for (GetResponse message; (message = channel.basicGet(queue, true)) != null; ) {
            byte[] body = message.getBody();
            if (body[0] == '[') {
                for (DomainEvent event : Json.read(body, DomainEvent[].class)) {
                    revisions.add(event.revision());
                }
            } else {
                revisions.add(Json.read(body, DomainEvent.class).revision());
            }
        }
        return revisions;
    }

    private static String tap(Channel channel, String exchange) throws Exception {
        String queue = channel.queueDeclare().getQueue();
        channel.queueBind(queue, exchange, "");
        return queue;
    }

    private static Connection tapConnection() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(TestServices.amqpUri());
        return factory.newConnection("publisher-test-taps");
    }
}
