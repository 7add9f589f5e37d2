package io.kvstream.event;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.LongStream;

import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;

/**
 * {@link EventSequencer#receive}, which the broker connection's reading thread calls with each batch: it never waits,
 * takes in at once what follows on, and leaves gaps and a busy sequence to a thread of its own, which delivers the
 * same sequence.
 */
class EventSequencerReceiveTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    /** What a listener was handed, and on which thread. */
    private record Handed(long revision, Thread thread) {
    }

    @Test
    void aBatchThatFollowsOnIsTakenInOnTheReceivingThread() {
        EventSequencer sequencer = new EventSequencer(null);
        List<Handed> handed = recorder(sequencer, null);
        sequencer.start(0, () -> 0);

        sequencer.receive(List.of(event(1), event(2)));
        sequencer.receive(List.of(event(2), event(3))); // a batch sent twice, in part

        assertThat(revisions(handed), is(List.of(1L, 2L, 3L)));
        assertThat(handed.stream().map(Handed::thread).toList(), everyItem(is(Thread.currentThread())));
    }

    @Test
    void aBatchAfterAGapIsCaughtUpFromTheLogOnAnotherThread() throws Exception {
        Settings.Db db = TestServices.db(TestServices.uniqueName("receive"));
        try (Database database = Database.open(db, "receive-test")) {
            store(db, 5);
            EventSequencer sequencer = new EventSequencer(new EventLog(database));
            List<Handed> handed = recorder(sequencer, null);
            sequencer.start(0, () -> 0);

            sequencer.receive(List.of(event(5)));

            await().atMost(WAIT).until(() -> sequencer.revision() == 5);
            assertThat(revisions(handed), is(List.of(1L, 2L, 3L, 4L, 5L)));
            assertThat(handed.stream().map(Handed::thread).toList(), everyItem(is(not(Thread.currentThread()))));
        }
    }

    /**
     * While another thread holds the sequence (here a listener that does not return), receiving does not wait; what
     * was received follows in order once the sequence is free. Beyond the bounded queue batches are dropped, and a
     * catch-up reads them from the log.
     */
    @Test
    void whileTheSequenceIsHeldReceivingReturnsAndNothingIsLostOrDoubled() throws Exception {
        int batches = 1_100; // more than the sequencer queues
        Settings.Db db = TestServices.db(TestServices.uniqueName("receive"));
        try (Database database = Database.open(db, "receive-test")) {
            store(db, batches + 1);
            EventSequencer sequencer = new EventSequencer(new EventLog(database));
            CountDownLatch release = new CountDownLatch(1);
            List<Handed> handed = recorder(sequencer, release);
            sequencer.start(0, () -> 0);
            Thread holder = Thread.ofVirtual().start(() -> sequencer.offerAll(List.of(event(1))));
            await().atMost(WAIT).until(() -> !handed.isEmpty());

            Thread receiver = Thread.ofVirtual().start(() -> LongStream.rangeClosed(2, batches + 1)
                    .forEach(revision -> sequencer.receive(List.of(event(revision)))));
            await().atMost(WAIT).until(() -> !receiver.isAlive());
            assertThat(revisions(handed), is(List.of(1L)));

            release.countDown();
            holder.join();
            sequencer.catchUp();
            await().atMost(WAIT).until(() -> sequencer.revision() == batches + 1);
            assertThat(revisions(handed), is(LongStream.rangeClosed(1, batches + 1).boxed().toList()));
        }
    }

    /** {@code hold}: if not null, the listener waits for it when handed revision 1. */
    private static List<Handed> recorder(EventSequencer sequencer, CountDownLatch hold) {
        List<Handed> handed = new CopyOnWriteArrayList<>();
        sequencer.addListener(event -> {
            handed.add(new Handed(event.revision(), Thread.currentThread()));
            if (hold != null && event.revision() == 1) {
                try {
                    hold.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        return handed;
    }

    private static List<Long> revisions(List<Handed> handed) {
        return handed.stream().map(Handed::revision).toList();
    }

    private static DomainEvent event(long revision) {
        return DomainEvent.put("k" + revision, "v", revision, "c" + revision, "2026-11-29T10:00:00Z");
    }

    /** Revisions 1..last in the log, as {@link #event} makes them, and the revision committed with them. */
    private static void store(Settings.Db db, long last) throws Exception {
        try (Connection c = TestServices.connect(db); Statement insert = c.createStatement()) {
            insert.executeUpdate("INSERT INTO kv_events (revision, kind, key, value, command_id, at)"
                                 + " SELECT g, 'value_put', 'k' || g, 'v', 'c' || g, now()"
                                 + " FROM generate_series(1, " + last + ") g");
            insert.executeUpdate("UPDATE kv_meta SET revision = " + last + " WHERE id = 1");
        }
    }
}
