package io.kvstream.wire;

import java.io.IOException;
import java.util.function.Consumer;

import io.kvstream.domain.DomainEvent;

/**
 * This process's subscription to the event batches exchange, so every process gets every event, in the order of
 * each message. What was published while the broker was away is not redelivered: the listener catches up from
 * the event log after a recovery ({@link Broker#onRecovery}).
 */
public final class EventSubscriber implements AutoCloseable {
    private final Subscription subscription;

    public EventSubscriber(Broker broker, Consumer<DomainEvent> onEvent) throws IOException {
        this.subscription = Subscription.toFanout(broker, broker.names().eventBatchesExchange(), "event batch",
                                                  message -> EventCodec.decodeBatch(message.body()).forEach(onEvent));
    }

    @Override
    public void close() {
        subscription.close();
    }
}
