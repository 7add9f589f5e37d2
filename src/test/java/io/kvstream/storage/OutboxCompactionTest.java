package io.kvstream.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import io.kvstream.config.Settings;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * Compaction in steps, each reading only what the log gained since the last one, leaves exactly the events that
 * compacting the whole log at once leaves, against real PostgreSQL: through revision R, an event at or before R stays
 * only if it is a put and its key did not change again by R (each key's value at R, as etcd keeps it). Random histories
 * of puts and deletes on a few keys, compacted at random points, now and then with the compacted revision set back (as
 * a database restored from a backup taken before the last compaction would have it): the next one starts from there.
 */
class OutboxCompactionTest {
    private static final int REVISIONS = 400;
    private static final int KEYS = 6;

    private final Settings.Db db = TestServices.db(TestServices.uniqueName("compaction"));

    /** One stored event: its revision, key, and whether it deleted the key. */
    private record Event(long revision, String key, boolean deleted) {
    }

    @Test
    void compactingInStepsLeavesWhatCompactingAtOnceLeaves() throws Exception {
        try (Database database = Database.open(db, "compaction-test");
             Outbox outbox = Outbox.open(database);
             Connection connection = TestServices.connect(db)) {
            for (long seed = 1; seed <= 5; seed++) {
                Random random = new Random(seed);
                List<Event> history = store(connection, random);
                long through = 0;
                while (through < REVISIONS - 10) {
                    through += 1 + random.nextInt(60);
                    through = Math.min(through, REVISIONS - 10);
                    outbox.compactThrough(through);
                    assertThat("seed " + seed + ", compacted through " + through, storedRevisions(connection),
                               is(survivors(history, through)));
                    if (random.nextInt(4) == 0) {
                        // Set back: the next compaction starts from an earlier revision.
                        execute(connection, "UPDATE kv_relay SET compacted_revision = "
                                            + random.nextLong(through + 1) + " WHERE id = 1");
                    }
                }
                assertThat(new EventLog(database).compactedRevision(), is(through));
            }
        }
    }

    /** Writes a random history of {@link #REVISIONS} events, and the values it leaves, into empty tables. */
    private static List<Event> store(Connection connection, Random random) throws SQLException {
        execute(connection, "TRUNCATE kv_events, kv_values, kv_commands");
        execute(connection, "UPDATE kv_relay SET compacted_revision = 0, relayed_revision = " + REVISIONS);
        execute(connection, "UPDATE kv_meta SET revision = " + REVISIONS);
        List<Event> history = new ArrayList<>();
        Map<String, Long> current = new HashMap<>();
        try (PreparedStatement event = connection.prepareStatement(
                "INSERT INTO kv_events (revision, kind, key, value, command_id, at) VALUES (?, ?, ?, ?, ?, now())")) {
            for (long revision = 1; revision <= REVISIONS; revision++) {
                String key = "k" + random.nextInt(KEYS);
                boolean deleted = current.containsKey(key) && random.nextInt(5) == 0;
                event.setLong(1, revision);
                event.setString(2, deleted ? "value_deleted" : "value_put");
                event.setString(3, key);
                event.setString(4, deleted ? null : "v" + revision);
                event.setString(5, "c" + revision);
                event.addBatch();
                history.add(new Event(revision, key, deleted));
                if (deleted) {
                    current.remove(key);
                } else {
                    current.put(key, revision);
                }
            }
            event.executeBatch();
        }
        try (PreparedStatement value = connection.prepareStatement(
                "INSERT INTO kv_values (key, value, mod_revision) VALUES (?, ?, ?)")) {
            for (Map.Entry<String, Long> entry : current.entrySet()) {
                value.setString(1, entry.getKey());
                value.setString(2, "v" + entry.getValue());
                value.setLong(3, entry.getValue());
                value.addBatch();
            }
            value.executeBatch();
        }
        return history;
    }

    /** The revisions compacting the whole of {@code history} through {@code through} at once leaves. */
    private static List<Long> survivors(List<Event> history, long through) {
        List<Long> kept = new ArrayList<>();
        for (Event event : history) {
            boolean changedByThen = history.stream().anyMatch(later -> later.key().equals(event.key())
                    && later.revision() > event.revision() && later.revision() <= through);
            if (event.revision() > through || !event.deleted() && !changedByThen) {
                kept.add(event.revision());
            }
        }
        return kept;
    }

    private static List<Long> storedRevisions(Connection connection) throws SQLException {
        List<Long> revisions = new ArrayList<>();
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT revision FROM kv_events ORDER BY revision")) {
            while (rows.next()) {
                revisions.add(rows.getLong(1));
            }
        }
        return revisions;
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
