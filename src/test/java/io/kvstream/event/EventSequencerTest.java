package io.kvstream.event;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Types;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The sequencer hands the events of a transaction over together, also when a catch-up page ends inside one. */
class EventSequencerTest {
    /** Revisions 1 (single), 2..4 (transaction t, so txn_end 4), 5 (single). */
    private static final long[][] LOG = {{1, 0}, {2, 4}, {3, 4}, {4, 4}, {5, 0}};
    private final Settings.Db db = TestServices.db(TestServices.uniqueName("sequencer"));
    private Database database;

    @BeforeEach
    void open() {
        database = Database.open(db, "sequencer-test");
    }

    @AfterEach
    void close() {
        database.close();
    }

    /** A sequencer over the stored {@link #LOG}, reading it in pages of two events. */
    private EventSequencer overTheLog() throws Exception {
        store(db);
        return new EventSequencer(new EventLog(database), 2);
    }

    @Test
    void aCatchUpPageEndingInsideATransactionHoldsItsEventsBackUntilItsLast() throws Exception {
        EventSequencer sequencer = overTheLog();
        List<List<Long>> handed = recorder(sequencer);
        sequencer.start(0, () -> 0);

        sequencer.catchUp();

        assertThat(handed, is(List.of(List.of(1L), List.of(2L, 3L, 4L), List.of(5L))));
        assertThat(sequencer.revision(), is(5L));
    }

    @Test
    void liveEventsOfATransactionAreHeldBackUntilItsLastArrives() throws Exception {
        EventSequencer sequencer = new EventSequencer(new EventLog(database), 2);
        List<List<Long>> handed = recorder(sequencer);
        sequencer.start(1, () -> 1);

        sequencer.offerAll(List.of(event(2, 4L)));
        sequencer.offerAll(List.of(event(3, 4L)));
        assertThat(handed, is(List.of()));
        assertThat(sequencer.revision(), is(1L));
        sequencer.offerAll(List.of(event(3, 4L))); // a duplicate while the transaction is open
        sequencer.offerAll(List.of(event(4, 4L)));
        sequencer.offerAll(List.of(event(5, null)));

        assertThat(handed, is(List.of(List.of(2L, 3L, 4L), List.of(5L))));
    }

    /**
     * A revision taken in that comes again as another command's change (a failed-over database reusing the revisions
     * it lost, its next commits already past the old end) makes the sequencer reload; a plain duplicate does not.
     */
    @Test
    void aRevisionThatComesAgainAsAnotherChangeMakesItReload() throws Exception {
        EventSequencer sequencer = overTheLog();
        List<Long> reloads = new CopyOnWriteArrayList<>();
        sequencer.addListener(new EventSequencer.Listener() {
            @Override
            public void onEvent(DomainEvent event) {
            }

            @Override
            public void onResync(long revision) {
                reloads.add(revision);
            }
        });
        sequencer.start(0, () -> 5);
        sequencer.offerAll(List.of(event(1, null)));
        sequencer.offerAll(List.of(event(1, null)));
        sequencer.catchUp();
        assertThat("a duplicate", reloads, is(List.of()));
        assertThat(sequencer.revision(), is(5L));

        sequencer.offerAll(List.of(DomainEvent.put("k5", "other", 5, "another-command", "2026-11-29T10:00:01Z")));
        await().atMost(Duration.ofSeconds(20)).until(() -> reloads.equals(List.of(5L)));
    }

    private static List<List<Long>> recorder(EventSequencer sequencer) {
        List<List<Long>> handed = new CopyOnWriteArrayList<>();
        sequencer.addListener(new EventSequencer.Listener() {
            @Override
            public void onEvent(DomainEvent event) {
                handed.add(List.of(event.revision()));
            }

            @Override
            public void onEvents(List<DomainEvent> events) {
                handed.add(events.stream().map(DomainEvent::revision).toList());
            }
        });
        return handed;
    }

    private static DomainEvent event(long revision, Long txnEnd) {
        DomainEvent put = DomainEvent.put("k" + revision, "v", revision, txnEnd == null ? "c" + revision : "t",
                                          "2026-11-29T10:00:00Z");
        return txnEnd == null ? put : put.inTxn(txnEnd);
    }

    /** The events of {@link #LOG}, and the revision committed with them. */
    private static void store(Settings.Db db) throws Exception {
        try (Connection c = TestServices.connect(db)) {
            try (PreparedStatement insert = c.prepareStatement(
                    "INSERT INTO kv_events (revision, kind, key, value, command_id, at, txn_end)"
                    + " VALUES (?, 'value_put', ?, 'v', ?, now(), ?)")) {
                for (long[] event : LOG) {
                    insert.setLong(1, event[0]);
                    insert.setString(2, "k" + event[0]);
                    insert.setString(3, event[1] == 0 ? "c" + event[0] : "t");
                    if (event[1] == 0) {
                        insert.setNull(4, Types.BIGINT);
                    } else {
                        insert.setLong(4, event[1]);
                    }
                    insert.executeUpdate();
                }
            }
            try (PreparedStatement committed = c.prepareStatement("UPDATE kv_meta SET revision = ? WHERE id = 1")) {
                committed.setLong(1, LOG[LOG.length - 1][0]);
                committed.executeUpdate();
            }
        }
    }
}
