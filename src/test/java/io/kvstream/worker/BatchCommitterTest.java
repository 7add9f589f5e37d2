package io.kvstream.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Metrics;
import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Txn;
import io.kvstream.storage.BatchStore;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * A committer that writes alone decides its batches of unconditional puts without reading the store; against real
 * PostgreSQL, with a second committer writing in between and commands delivered twice, every outcome is the one a read
 * would have given: revisions stay gap-free, a command committed by the other committer is answered as a repeat of its
 * first outcome and changes nothing, and each command is recorded once.
 */
class BatchCommitterTest {
    private final Settings.Db db = TestServices.db(TestServices.uniqueName("committer"));
    private final Counter unread = Metrics.getOrCreate(Counter.builder("kvstream.worker.batches.unread"));

    @Test
    void aCommitterWritingAloneDecidesItsUnconditionalPutsWithoutReading() {
        try (Database database = Database.open(db, "committer-test")) {
            List<DomainEvent> committed = new CopyOnWriteArrayList<>();
            BatchCommitter committer = committer(database, committed);
            committer.commit(List.of(put("a")));
            committer.commit(List.of(put("b")));

            long before = unread.count();
            assertThat(revisions(committer.commit(List.of(put("c"), put("a")))), is(List.of(3L, 4L)));
            assertThat("decided without reading", unread.count() - before, is(1L));
            assertThat("a delete reads whether its key exists",
                       revisions(committer.commit(List.of(Command.delete(id(), "b", null), put("d")))),
                       is(List.of(5L, 6L)));
            assertThat("a precondition reads its key",
                       revisions(committer.commit(List.of(Command.put(id(), "a", "v", 4L, false)))), is(List.of(7L)));
            assertThat(unread.count() - before, is(1L));
            assertThat(revisions(committer.commit(List.of(put("e")))), is(List.of(8L)));
            assertThat("alone again after reading", unread.count() - before, is(2L));

            assertThat(logged(database), is(committed));
            assertThat(logged(database).stream().map(DomainEvent::revision).toList(),
                       is(LongStream.rangeClosed(1, 8).boxed().toList()));
        }
    }

    @Test
    void aGuessThatAnotherWriterOvertookFallsBackToWhatIsStored() {
        try (Database database = Database.open(db, "committer-test")) {
            List<DomainEvent> committed = new CopyOnWriteArrayList<>();
            BatchCommitter first = committer(database, committed);
            BatchCommitter second = committer(database, committed);
            first.commit(List.of(put("a")));
            first.commit(List.of(put("b")));

            Command overtaking = put("c");
            assertThat(revisions(second.commit(List.of(overtaking))), is(List.of(3L)));
            long before = unread.count();
            assertThat(revisions(first.commit(List.of(put("d")))), is(List.of(4L)));
            assertThat(unread.count() - before, is(0L));

            // The other committer's command, delivered again to this one, which is alone again.
            List<CommandOutcome> again = first.commit(List.of(overtaking, put("e")));
            assertThat(again.getFirst(), is(new CommandOutcome(overtaking.id(), CommandOutcome.Status.APPLIED, 3L,
                                                               null, true)));
            assertThat(again.getLast().revision(), is(5L));
            assertThat("a recorded command makes the guess fail", unread.count() - before, is(0L));

            assertThat(revisions(first.commit(List.of(put("f")))), is(List.of(6L)));
            assertThat(unread.count() - before, is(1L));
            assertThat(logged(database).stream().map(DomainEvent::revision).toList(),
                       is(LongStream.rangeClosed(1, 6).boxed().toList()));
            assertThat(logged(database).stream().map(DomainEvent::key).toList(),
                       is(List.of("a", "b", "c", "d", "e", "f")));
            assertThat(committed.stream().sorted(java.util.Comparator.comparingLong(DomainEvent::revision)).toList(),
                       is(logged(database)));
        }
    }

    /**
     * From its deadline on, a key is gone for writes as it is for reads, though the expiry that deletes it has not
     * committed yet (no expiry runs here): a compare-and-set against its last revision fails, a delete finds nothing,
     * a create and a transaction comparing with "absent" succeed, and the value created is not expired after.
     */
    @Test
    void aKeyPastItsDeadlineIsAbsentToWritesBeforeItsExpiryCommits() {
        try (Database database = Database.open(db, "committer-test")) {
            List<DomainEvent> committed = new CopyOnWriteArrayList<>();
            BatchCommitter committer = committer(database, committed);
            committer.commit(List.of(put("lease").expiringAfter(1), put("lock").expiringAfter(1)));
            Instant deadline = Instant.parse(committed.getLast().expires());
            await().atMost(Duration.ofSeconds(10)).until(() -> Instant.now().isAfter(deadline));

            Command renew = Command.put(id(), "lease", "renewed", 1L, false);
            Command delete = Command.delete(id(), "lease", null);
            Command create = Command.put(id(), "lease", "new holder", null, true);
            Command takeLock = Command.txn(id(), new Txn(List.of(new Txn.Compare("lock", 0)),
                                                         List.of(new Txn.Change(Command.Op.PUT, "lock", "mine")),
                                                         List.of()));
            List<CommandOutcome> outcomes = committer.commit(List.of(renew, delete, create, takeLock));

            assertThat(outcomes.stream().map(CommandOutcome::status).toList(),
                       is(List.of(CommandOutcome.Status.PRECONDITION_FAILED, CommandOutcome.Status.UNCHANGED,
                                  CommandOutcome.Status.APPLIED, CommandOutcome.Status.APPLIED)));
            assertThat(outcomes.getLast().txn().succeeded(), is(true));
            assertThat(committer.expire(KeyExpiry.BATCH), is(0));
            assertThat(logged(database).stream().map(e -> e.key() + "=" + e.value() + "@" + e.revision()).toList(),
                       is(List.of("lease=value-lease@1", "lock=value-lock@2", "lease=new holder@3", "lock=mine@4")));
        }
    }

    private static BatchCommitter committer(Database database, List<DomainEvent> committed) {
        return new BatchCommitter(new BatchStore(database), committed::addAll, () -> false, new WorkerMetrics());
    }

    private static Command put(String key) {
        return Command.put(id(), key, "value-" + key, null, false);
    }

    private static String id() {
        return UUID.randomUUID().toString();
    }

    private static List<Long> revisions(List<CommandOutcome> outcomes) {
        return outcomes.stream().map(CommandOutcome::revision).toList();
    }

    private static List<DomainEvent> logged(Database database) {
        return new EventLog(database).after(0, 100, Long.MAX_VALUE);
    }
}
