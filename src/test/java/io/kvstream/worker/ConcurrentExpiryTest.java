package io.kvstream.worker;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.BatchStore;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.ExpiryTools;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * Expiry under the revision lock, against real PostgreSQL: committers racing to expire the same due keys in small
 * batches expire each key once, with gap-free revisions, and the log gives back exactly the events committed.
 */
class ConcurrentExpiryTest {
    private static final int KEYS = 120;

    @Test
    void committersRacingToExpireTheSameKeysExpireEachOnce() throws Exception {
        Settings.Db db = TestServices.db(TestServices.uniqueName("expiry"));
        try (Database database = Database.open(db, "expiry-test")) {
            List<DomainEvent> committed = new CopyOnWriteArrayList<>();
            BatchStore store = new BatchStore(database);
            BatchCommitter committer = new BatchCommitter(store, committed::addAll, () -> false,
                                                          new WorkerMetrics());
            committer.commit(IntStream.range(0, KEYS).mapToObj(i -> Command.put("c" + i, "k" + i, "v", null, false)
                    .expiringAfter(1)).toList());
            await().until(() -> store.anyDue(Instant.now()));

            List<Thread> racers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                racers.add(Thread.ofVirtual().start(() -> {
                    while (committer.expire(7) > 0) {
                        // until nothing is due for this committer either
                    }
                }));
            }
            for (Thread racer : racers) {
                racer.join();
            }
            // Deadlines of one batch are equal: once one is due, all are, and every racer stops only when none is.
            assertThat(ExpiryTools.keysWithDeadline(db), is(0));

            List<DomainEvent> expiries = committed.stream().filter(DomainEvent::isExpiry).toList();
            assertThat(expiries.stream().map(DomainEvent::key).sorted().toList(),
                       is(IntStream.range(0, KEYS).mapToObj(i -> "k" + i).sorted().toList()));
            assertThat(ExpiryTools.expiries(db).size(), is(KEYS));
            List<DomainEvent> log = new EventLog(database).after(0, 10 * KEYS, Long.MAX_VALUE);
            assertThat(log.stream().map(DomainEvent::revision).toList(),
                       is(LongStream.rangeClosed(1, 2L * KEYS).boxed().toList()));
            assertThat(log.stream().sorted(java.util.Comparator.comparingLong(DomainEvent::revision)).toList(),
                       is(committed.stream().sorted(java.util.Comparator.comparingLong(DomainEvent::revision))
                                  .toList()));
        }
    }
}
