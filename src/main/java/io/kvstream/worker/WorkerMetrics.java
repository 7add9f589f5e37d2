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

    void batchCommitted(int size) {
        if (size > 0) {
            commands.increment(size);
            batchSizes.record(size);
        }
    }
}
