package io.kvstream.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.arrayWithSize;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A batch's write, its NOTIFY and its COMMIT travel to PostgreSQL as one string. What a commit returns is committed,
 * seen from another session, and leaves no session of the pool inside a transaction; a NOTIFY is sent when asked for
 * and only then. A write the database refuses commits nothing of its batch, not even the revision, and the next batch
 * commits as usual, at the next revision. A batch decided without reading, at the revision its committer last left the
 * store at, commits the same way while that is still the stored revision and none of its commands is recorded, and
 * writes nothing otherwise, even when the revision moved while it waited for the lock.
 */
class BatchStoreCommitTest {
    private final Settings.Db db = TestServices.db(TestServices.uniqueName("commit"));
    private final String pool = "commit-test-" + UUID.randomUUID();

    @Test
    void aCommittedBatchIsVisibleElsewhereNotifiesWhenAskedAndLeavesNoSessionInATransaction() throws Exception {
        try (Database database = Database.open(db, pool);
             Connection listener = listening(database)) {
            BatchStore store = new BatchStore(database);

            commit(store, puts("a", "b"), false);
            assertThat("no NOTIFY unless asked for", notifications(listener, 500), arrayWithSize(0));
            commit(store, puts("c"), true);
            assertThat(notifications(listener, 30_000), arrayWithSize(1));

            assertThat(single("SELECT revision FROM kv_meta WHERE id = 1"), is("3"));
            assertThat(storedValues(), is("a=value-a@1,b=value-b@2,c=value-c@3"));
            assertThat(single("SELECT count(*) FROM kv_events"), is("3"));
            assertThat("sessions of the pool inside a transaction", sessionsInTransaction(), is("0"));
        }
    }

    @Test
    void aWriteTheDatabaseRefusesCommitsNothingAndTheNextBatchTakesTheNextRevision() throws Exception {
        try (Database database = Database.open(db, pool)) {
            BatchStore store = new BatchStore(database);
            commit(store, puts("before"), false);

            // PostgreSQL's text holds no NUL character: a data exception (class 22), which condemns the batch.
            List<Command> refused = List.of(Command.put(UUID.randomUUID().toString(), "refused", "nul\u0000", null,
                                                        false));
            RuntimeException failure = assertThrows(RuntimeException.class,
                                                    () -> commit(store, refused, true));
            assertThat(BatchStore.isOutage(failure), is(false));
            assertThat(single("SELECT revision FROM kv_meta WHERE id = 1"), is("1"));
            assertThat(single("SELECT count(*) FROM kv_values WHERE key = 'refused'"), is("0"));

            commit(store, puts("after"), false);
            assertThat(single("SELECT revision FROM kv_meta WHERE id = 1"), is("2"));
            assertThat(single("SELECT string_agg(key || '@' || revision, ',' ORDER BY revision) FROM kv_events"),
                       is("before@1,after@2"));
        }
    }

    @Test
    void aBatchDecidedAtTheStoredRevisionCommitsAsAnyOther() throws Exception {
        try (Database database = Database.open(db, pool);
             Connection listener = listening(database)) {
            BatchStore store = new BatchStore(database);
            commit(store, puts("a", "b"), false);

            List<Command> guessed = puts("a", "c");
            assertThat(store.commitDecidedAt(2, applying(guessed).apply(StoredState.onlyAt(2)), true), is(true));

            assertThat(notifications(listener, 30_000), arrayWithSize(1));
            assertThat(single("SELECT revision FROM kv_meta WHERE id = 1"), is("4"));
            assertThat(storedValues(), is("a=value-a@3,b=value-b@2,c=value-c@4"));
            assertThat(single("SELECT string_agg(key || '@' || revision, ',' ORDER BY revision) FROM kv_events"),
                       is("a@1,b@2,a@3,c@4"));
            assertThat(single("SELECT string_agg(id || ':' || status || '@' || revision, ',' ORDER BY revision)"
                              + " FROM kv_commands WHERE revision > 2"),
                       is(guessed.get(0).id() + ":applied@3," + guessed.get(1).id() + ":applied@4"));
            assertThat("sessions of the pool inside a transaction", sessionsInTransaction(), is("0"));
        }
    }

    @Test
    void aBatchDecidedAtAnOlderRevisionOrForARecordedCommandWritesNothing() throws Exception {
        try (Database database = Database.open(db, pool)) {
            BatchStore store = new BatchStore(database);
            List<Command> first = puts("a");
            commit(store, first, false);
            commit(store, puts("b"), false);
            String before = everything();

            assertThat("decided at a revision the store has left",
                       store.commitDecidedAt(1, applying(puts("c")).apply(StoredState.onlyAt(1)), true), is(false));
            assertThat("decided at a revision the store has not reached",
                       store.commitDecidedAt(3, applying(puts("c")).apply(StoredState.onlyAt(3)), true), is(false));
            List<Command> redelivered = List.of(puts("d").getFirst(), first.getFirst());
            assertThat("one of its commands is recorded",
                       store.commitDecidedAt(2, applying(redelivered).apply(StoredState.onlyAt(2)), true), is(false));

            assertThat(everything(), is(before));
            assertThat("sessions of the pool inside a transaction", sessionsInTransaction(), is("0"));
        }
    }

    /**
     * The guard takes the revision lock before it writes: while another transaction holds it, the batch waits having
     * written nothing (that transaction can write the batch's own key without waiting for it, where a row written first
     * would make the two wait for each other), and once that transaction has moved the revision, the batch writes
     * nothing (the guard's row read again under the lock).
     */
    @Test
    void aBatchThatWaitedForTheLockWhileTheRevisionMovedWritesNothing() throws Exception {
        try (Database database = Database.open(db, pool);
             Connection other = TestServices.connect(db)) {
            BatchStore store = new BatchStore(database);
            commit(store, puts("a"), false);
            other.setAutoCommit(false);
            try (Statement lock = other.createStatement()) {
                lock.execute("SELECT revision FROM kv_meta WHERE id = 1 FOR UPDATE");
            }
            boolean[] committed = {true};
            Thread guessing = Thread.ofVirtual().start(() -> committed[0] = store.commitDecidedAt(
                    1, applying(puts("b")).apply(StoredState.onlyAt(1)), false));
            await().until(() -> single("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + pool
                                       + "' AND wait_event_type = 'Lock'").equals("1"));
            try (Statement move = other.createStatement()) {
                move.execute("INSERT INTO kv_values (key, value, mod_revision) VALUES ('b', 'other', 2)");
                move.execute("UPDATE kv_meta SET revision = 2 WHERE id = 1");
            }
            other.commit();
            guessing.join();

            assertThat(committed[0], is(false));
            assertThat(single("SELECT revision FROM kv_meta WHERE id = 1"), is("2"));
            assertThat(single("SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM kv_values"),
                       is("a=value-a,b=other"));
            assertThat(single("SELECT count(*) FROM kv_events"), is("1"));
            assertThat(single("SELECT count(*) FROM kv_commands"), is("1"));
        }
    }

    /** A session of its own that listens for the NOTIFY of commits. */
    private Connection listening(Database database) throws SQLException {
        Connection listener = TestServices.connect(db);
        try (Statement listen = listener.createStatement()) {
            listen.execute("LISTEN " + database.notifyChannel());
        } catch (SQLException e) {
            listener.close();
            throw e;
        }
        return listener;
    }

    /** Every stored value as {@code key=value@modRevision}, by key. */
    private String storedValues() throws SQLException {
        return single("SELECT string_agg(key || '=' || value || '@' || mod_revision, ',' ORDER BY key) FROM kv_values");
    }

    private String sessionsInTransaction() throws SQLException {
        return single("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + pool + "'"
                      + " AND state LIKE 'idle in transaction%'");
    }

    /** The revision, every value, event and recorded command, as one string. */
    private String everything() throws SQLException {
        return single("SELECT (SELECT revision FROM kv_meta WHERE id = 1)"
                      + " || ' ' || (SELECT string_agg(key || '=' || value || '@' || mod_revision, ',' ORDER BY key)"
                      + " FROM kv_values) || ' ' || (SELECT string_agg(key || '@' || revision, ',' ORDER BY revision)"
                      + " FROM kv_events) || ' ' || (SELECT string_agg(id || '@' || revision, ',' ORDER BY revision)"
                      + " FROM kv_commands)");
    }

    /** A put of {@code value-KEY} for each key, each its own command. */
    private static List<Command> puts(String... keys) {
        List<Command> commands = new ArrayList<>();
        for (String key : keys) {
            commands.add(Command.put(UUID.randomUUID().toString(), key, "value-" + key, null, false));
        }
        return commands;
    }

    /** The simplest decision: every command is a put that applies, one revision each after the stored one. */
    private record Puts(long revision, Instant at, List<DomainEvent> events, List<CommandOutcome> recorded,
                        Map<String, String> fingerprints) implements BatchWrite {
    }

    private static Function<StoredState, Puts> applying(List<Command> commands) {
        return state -> {
            Instant at = Instant.now().truncatedTo(ChronoUnit.MICROS);
            List<DomainEvent> events = new ArrayList<>();
            List<CommandOutcome> outcomes = new ArrayList<>();
            long revision = state.revision();
            for (Command command : commands) {
                revision++;
                events.add(DomainEvent.put(command.key(), command.value(), revision, command.id(), at.toString()));
                outcomes.add(new CommandOutcome(command.id(), CommandOutcome.Status.APPLIED, revision));
            }
            return new Puts(revision, at, events, outcomes, Map.of());
        };
    }

    private static void commit(BatchStore store, List<Command> commands, boolean notify) {
        store.commit(commands, Instant.now(), applying(commands), notify);
    }

    private String single(String sql) throws SQLException {
        try (Connection connection = TestServices.connect(db);
             PreparedStatement statement = connection.prepareStatement(sql);
             ResultSet rows = statement.executeQuery()) {
            rows.next();
            return rows.getString(1);
        }
    }

    private static PGNotification[] notifications(Connection listener, int waitMillis) throws SQLException {
        PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications(waitMillis);
        return received == null ? new PGNotification[0] : received;
    }
}
