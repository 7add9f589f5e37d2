package io.kvstream.worker;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.DistributionSummary;
import io.helidon.metrics.api.Metrics;

/** What an operator watches on a worker: commands committed and how well they are grouped. */
public final class WorkerMetrics {
    private final Counter commands = Metrics.getOrCreate(
            Counter.builder("kvstream.worker.commands").description("Commands committed"));
    private final DistributionSummary batchSizes = Metrics.getOrCreate(
            DistributionSummary.builder("kvstream.worker.batch.size").description("Commands per transaction"));
    private final Counter unread = Metrics.getOrCreate(Counter.builder("kvstream.worker.batches.unread").description(
            "Batches decided without reading the store and committed in one round trip (the worker wrote alone)"));

    void batchCommitted(int size) {
        if (size > 0) {
            commands.increment(size);
            batchSizes.record(size);
        }
    }

    void batchCommittedUnread() {
        unread.increment();
    }
}
