package io.kvstream.wire;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * A process skips, unread, an event batch it has applied already (its own worker handed it over before the relay
 * published it), and reads every later one; the broker keeps the batches of one publisher in order.
 */
class EventSubscriberTest {
    private static final String AT = "2026-11-29T10:00:00Z";

    @Test
    void aBatchAppliedAlreadyIsSkippedAndALaterOneIsDelivered() throws Exception {
        String prefix = TestServices.uniqueName("skip");
        Settings settings = TestServices.settings(Settings.Role.API, prefix, prefix);
        AtomicLong applied = new AtomicLong(2);
        List<Long> delivered = new CopyOnWriteArrayList<>();
        try (Broker broker = Broker.connect(settings.amqp(), "event-subscriber-test", Duration.ofSeconds(30));
             EventSubscriber subscriber = new EventSubscriber(broker, batch -> batch.forEach(
                     event -> delivered.add(event.revision())), applied::get);
             EventPublisher publisher = new EventPublisher(broker, false)) {
            publisher.publish(List.of(put(1), put(2)));
            publisher.publish(List.of(put(2), put(3)));
            publisher.publish(List.of(put(4)));

            await().until(() -> delivered.contains(4L));
            assertThat(delivered, is(List.of(2L, 3L, 4L)));
        }
    }

    private static DomainEvent put(long revision) {
        return DomainEvent.put("k" + revision, "v", revision, "c" + revision, AT);
    }
}
