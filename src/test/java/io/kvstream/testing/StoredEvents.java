package io.kvstream.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;

/** The invariants every fault test ends with, checked against PostgreSQL itself. */
public final class StoredEvents {
    private StoredEvents() {
    }

    /**
     * Every command answered 202 is committed, with its key and value, within {@code patience}: accepted commands
     * reach the worker whenever the broker delivers them, so this waits for them.
     */
    public static void awaitAcceptedCommitted(Settings.Db db, LoadClient load, java.time.Duration patience) {
        Map<String, LoadClient.Accepted> accepted = Map.copyOf(load.acceptedCommands());
        org.awaitility.Awaitility.await("every accepted command committed").atMost(patience)
                .until(() -> committedCommands(db, accepted.keySet()).size() == accepted.size());
        Map<String, LoadClient.Accepted> committed = committedCommands(db, accepted.keySet());
        assertThat("accepted commands as committed", committed, is(accepted));
    }

    /** Of the given command ids, those with a stored event: what the event wrote. */
    private static Map<String, LoadClient.Accepted> committedCommands(Settings.Db db, java.util.Set<String> ids) {
        Map<String, LoadClient.Accepted> committed = new HashMap<>();
        try (Connection c = TestServices.connect(db);
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT command_id, key, value FROM kv_events")) {
                while (rs.next()) {
                    if (ids.contains(rs.getString(1))) {
                        committed.put(rs.getString(1), new LoadClient.Accepted(rs.getString(2), rs.getString(3)));
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return committed;
    }

    /**
     * No acknowledged write lost (its event is stored and the key was not rolled back), no command applied twice,
     * revisions gap-free from 1, and every given replica equal to the table.
     */
    public static void assertConsistent(Settings.Db db, LoadClient load, List<TestNode> replicas) {
        StoredContent stored = StoredContent.read(db);
        assertThat("gap-free revisions", stored.eventRevisions(),
                   is(LongStream.rangeClosed(1, stored.revision()).boxed().toList()));
        Map<Long, String[]> events = new HashMap<>();
        List<String> duplicates = new ArrayList<>();
        try (Connection c = TestServices.connect(db);
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT revision, key, value FROM kv_events")) {
                while (rs.next()) {
                    events.put(rs.getLong(1), new String[] {rs.getString(2), rs.getString(3)});
                }
            }
            try (ResultSet rs = s.executeQuery(
                    "SELECT command_id FROM kv_events GROUP BY command_id HAVING count(*) > 1")) {
                while (rs.next()) {
                    duplicates.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        assertThat("commands applied twice", duplicates, is(List.of()));
        load.acknowledgedWrites().forEach((key, ack) -> {
            String[] event = events.get(ack.revision());
            assertThat("event of acknowledged write " + key + "@" + ack.revision(), event != null, is(true));
            assertThat(event[0], is(key));
            assertThat(event[1], is(ack.value()));
            Entry now = stored.values().get(key);
            assertThat("key " + key + " still present", now != null, is(true));
            assertThat(now.modRevision(), greaterThanOrEqualTo(ack.revision()));
        });
        for (TestNode replica : replicas) {
            org.awaitility.Awaitility.await().until(() -> replica.revision() == stored.revision());
            assertThat(replica.contents(), is(stored.values()));
        }
    }
}
