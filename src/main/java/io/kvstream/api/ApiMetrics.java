package io.kvstream.api;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;

/** What an operator watches on an API process: write outcomes and rejected requests by reason. */
public final class ApiMetrics {
    void commandAnswered(String status) {
        Metrics.getOrCreate(Counter.builder("kvstream.api.commands")
                                    .description("Synchronous writes answered, by outcome")
                                    .tags(java.util.List.of(Tag.create("outcome", status))))
                .increment();
    }

    void rejected(String reason) {
        Metrics.getOrCreate(Counter.builder("kvstream.api.rejected")
                                    .description("Requests answered with an error, by reason")
                                    .tags(java.util.List.of(Tag.create("reason", reason))))
                .increment();
    }
}
