package io.kvstream.api;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Tag;

/**
 * What an operator watches on an API process: write outcomes and rejected requests by reason. Counters are looked
 * up once per tag value: {@code Metrics.getOrCreate} on every write was 5% of the API's CPU under PUT load.
 */
public final class ApiMetrics {
    private final Map<String, Counter> answered = new ConcurrentHashMap<>();
    private final Map<String, Counter> rejected = new ConcurrentHashMap<>();

    void commandAnswered(String status) {
        answered.computeIfAbsent(status, s -> Metrics.getOrCreate(
                Counter.builder("kvstream.api.commands")
                        .description("Synchronous writes answered, by outcome")
                        .tags(List.of(Tag.create("outcome", s))))).increment();
    }

    void rejected(String reason) {
        rejected.computeIfAbsent(reason, r -> Metrics.getOrCreate(
                Counter.builder("kvstream.api.rejected")
                        .description("Requests answered with an error, by reason")
                        .tags(List.of(Tag.create("reason", r))))).increment();
    }
}
