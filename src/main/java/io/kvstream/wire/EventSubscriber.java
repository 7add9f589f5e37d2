package io.kvstream.wire;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import io.kvstream.domain.DomainEvent;

/**
 * This process's subscription to the event batches exchange, so every process gets every event, in the order of
 * each message. What was published while the broker was away is not redelivered: the listener catches up from
 * the event log after a recovery ({@link Broker#onRecovery}).
 */
public final class EventSubscriber implements AutoCloseable {
    private final Subscription subscription;

    /**
     * {@code onBatch} gets each batch's events in order, on the connection's reading thread (so it must not wait);
     * {@code applied}: the revision this process has applied through; a batch that ends there or before is skipped.
     */
    public EventSubscriber(Broker broker, Consumer<List<DomainEvent>> onBatch, LongSupplier applied)
            throws IOException {
        this.subscription = Subscription.toFanout(broker, broker.names().eventBatchesExchange(), "event batch",
                                                  message -> {
            if (!appliedAlready(message, applied)) {
                onBatch.accept(EventCodec.decodeBatch(message.body()));
            }
        });
    }

    private static boolean appliedAlready(Subscription.Message message, LongSupplier applied) {
        Object last = message.headers() == null ? null : message.headers().get(EventCodec.LAST_REVISION_HEADER);
        return last instanceof Number revision && revision.longValue() <= applied.getAsLong();
    }

    @Override
    public void close() {
        subscription.close();
    }
}
