package io.kvstream.role;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.kvstream.domain.DomainEvent;
import io.kvstream.event.EventSequencer;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The order read-your-writes depends on: replica, then the waiting writer, then the stream, for every event. */
class ListenerOrderTest {
    @Test
    void theReplicaAppliesEachEventBeforeTheWriterIsAnsweredAndTheStreamIsTold() {
        List<String> heard = new CopyOnWriteArrayList<>();
        EventSequencer feed = new EventSequencer(null);
        ListenerOrder.listen(feed, e -> heard.add("replica@" + e.revision()), e -> heard.add("writer@" + e.revision()),
                             e -> heard.add("stream@" + e.revision()));
        feed.start(0, () -> 0);

        feed.offerAll(List.of(DomainEvent.put("k", "v", 1, "c1", "2026-11-29T10:00:00Z")));
        feed.offerAll(List.of(DomainEvent.deleted("k", 2, "c2", "2026-11-29T10:00:00Z")));

        assertThat(heard, is(List.of("replica@1", "writer@1", "stream@1", "replica@2", "writer@2", "stream@2")));
    }

    @Test
    void aRoleWithoutSomePartsKeepsTheOrderOfTheOthers() {
        List<String> heard = new CopyOnWriteArrayList<>();
        EventSequencer feed = new EventSequencer(null);
        ListenerOrder.listen(feed, null, null, e -> heard.add("stream@" + e.revision()));
        feed.start(0, () -> 0);

        feed.offerAll(List.of(DomainEvent.put("k", "v", 1, "c1", "2026-11-29T10:00:00Z")));

        assertThat(heard, is(List.of("stream@1")));
    }
}
