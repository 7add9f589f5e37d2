package io.kvstream.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;

import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The event log's pages: a replay reader holds at most a page, bounded in events and in bytes of keys and values. */
class EventLogTest {
    @Test
    void pagesAreBoundedInBytesOfKeysAndValuesButAlwaysHoldTheFirstEvent() throws Exception {
        Settings.Db db = TestServices.db(TestServices.uniqueName("eventlog"));
        try (Database database = Database.open(db, "eventlog-test")) {
            // Five events of 1 + 999 = 1000 bytes each (key "k", value of 999 bytes), revisions 1..5.
            try (Connection c = TestServices.connect(db)) {
                try (PreparedStatement insert = c.prepareStatement(
                        "INSERT INTO kv_events (revision, kind, key, value, command_id, at)"
                        + " VALUES (?, 'value_put', 'k', ?, ?, now())")) {
                    for (int r = 1; r <= 5; r++) {
                        insert.setLong(1, r);
                        insert.setString(2, "v".repeat(999));
                        insert.setString(3, "cmd-" + r);
                        insert.executeUpdate();
                    }
                }
            }
            EventLog log = new EventLog(database);

            assertThat(revisions(log.after(0, 500, 2_999)), is(List.of(1L, 2L)));
            assertThat(revisions(log.after(0, 500, 3_000)), is(List.of(1L, 2L, 3L)));
            assertThat(revisions(log.after(3, 500, 10)), is(List.of(4L)));
            assertThat(revisions(log.after(1, 2, 1_000_000)), is(List.of(2L, 3L)));
            assertThat(revisions(log.after(5, 500, 1_000_000)), is(List.of()));
        }
    }

    private static List<Long> revisions(List<DomainEvent> page) {
        return page.stream().map(DomainEvent::revision).toList();
    }
}
