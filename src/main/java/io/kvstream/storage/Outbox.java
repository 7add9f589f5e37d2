package io.kvstream.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import io.kvstream.domain.DomainEvent;
import org.postgresql.PGConnection;
import org.postgresql.PGStatement;

/**
 * The relay's view of the event log on one dedicated connection: the lead (a session-level advisory lock, released
 * by the database if its holder dies, so a standby takes over), the NOTIFY of commits, the committed events not yet
 * relayed, the relay's progress and compaction. Closing it gives up the lead.
 * <p>
 * A holder that is cut off without its connection closing (a frozen network, a node gone without a FIN) would keep
 * the session, and the lock, open on the server. So the session carries {@code idle_session_timeout}
 * ({@code kvstream.db.idle-session-timeout}): the server ends it when the relay has said nothing on it that long, and
 * the relay speaks on it ({@link #heartbeat()}, {@link #awaitLead}) every second or so.
 */
public final class Outbox implements AutoCloseable {
    private final Connection connection;
    private final PGConnection notifications;
    private final EventLog eventLog;
    private final String notifyChannel;

    private Outbox(Connection connection, EventLog eventLog, String notifyChannel) throws SQLException {
        this.connection = connection;
        this.notifications = connection.unwrap(PGConnection.class);
        this.eventLog = eventLog;
        this.notifyChannel = notifyChannel;
    }

    /** Opens the connection and listens for commits; fails if the database is unreachable. */
    public static Outbox open(Database database) {
        try {
            return open(database, database.dataSource().getConnection());
        } catch (SQLException e) {
            throw new StorageException("Cannot open the outbox", e);
        }
    }

    private static Outbox open(Database database, Connection connection) throws SQLException {
        try {
            connection.setAutoCommit(true);
            try (Statement statement = connection.createStatement()) {
                // The relay's progress marker may lag after a crash: the next leader then publishes a few events
                // again, which replicas ignore. Not worth an fsync per relayed page.
                statement.execute("SET synchronous_commit = off");
                statement.execute("SET idle_session_timeout = " + database.idleSessionTimeout().toMillis());
                statement.execute("LISTEN " + database.notifyChannel());
            }
            return new Outbox(connection, new EventLog(database), database.notifyChannel());
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /**
     * Waits up to {@code patience} for the lead, in the database's queue for the lock ({@code kv_await_lead}): it is
     * granted the moment its holder's session ends, with no polling. True if this outbox leads now. What was notified
     * meanwhile is dropped: only the leader relays. {@code patience} stays below {@code idle_session_timeout} and the
     * socket timeout, so a waiting standby speaks often enough and its connection is not taken for stalled.
     */
    public boolean awaitLead(Duration patience) {
        boolean leads;
        try (PreparedStatement wait = connection.prepareStatement("SELECT kv_await_lead(?, ?)")) {
            wait.setString(1, notifyChannel);
            wait.setInt(2, Math.toIntExact(patience.toMillis()));
            try (ResultSet rs = wait.executeQuery()) {
                leads = rs.next() && rs.getBoolean(1);
            }
            if (!leads) {
                notifications.getNotifications();
            }
        } catch (SQLException e) {
            throw new StorageException("Cannot wait for the relay lead", e);
        }
        return leads;
    }

    /** A round trip on the lead's session, so that the server does not end it as silent. */
    public void heartbeat() {
        try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1");
        } catch (SQLException e) {
            throw new StorageException("Lost the relay's session", e);
        }
    }

    /** The last revision the leaders so far have recorded as relayed. */
    public long relayedRevision() {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT relayed_revision FROM kv_relay WHERE id = 1")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new StorageException("Cannot read the relay's progress", e);
        }
    }

    /**
     * Up to {@code limit} committed events after {@code revision}, in revision order, ending before their keys and
     * values pass {@code maxBytes} (a larger first event comes alone).
     */
    public List<DomainEvent> after(long revision, int limit, long maxBytes) {
        return eventLog.after(revision, limit, maxBytes);
    }

    public void recordRelayed(long revision) {
        try (PreparedStatement update = connection.prepareStatement(
                "UPDATE kv_relay SET relayed_revision = ? WHERE id = 1 AND relayed_revision < ?")) {
            update.setLong(1, revision);
            update.setLong(2, revision);
            update.executeUpdate();
        } catch (SQLException e) {
            throw new StorageException("Cannot record the relay's progress", e);
        }
    }

    /**
     * Drops the events, and the remembered command ids, up to {@code revision}; readers behind it must resync. Of each
     * key, its last change up to there stays unless it was a delete, so {@link History} can read any revision from
     * there on, also of a key that changes later (as etcd keeps the latest version of each key).
     * <p>
     * Each compaction reads only what the log gained since the last one: the events after the last compacted revision
     * (each dropped if a delete or changed again by then), and of the events an earlier compaction kept, those of keys
     * changed since. Reading every kept event each time would cost one look per key of the store per compaction. The
     * kept events go first: a statement that dropped the new events first would hide the changes that make them due.
     */
    public void compactThrough(long revision) {
        try {
            connection.setAutoCommit(false);
            try {
                compactInTransaction(revision);
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailure) {
                    e.addSuppressed(rollbackFailure);
                }
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new StorageException("Cannot compact the event log", e);
        }
    }

    /**
     * The steps of {@link #compactThrough}, in one transaction: a history read (repeatable read) sees the events and
     * the compacted revision both before or both after, never the kept events dropped under the old bound.
     */
    private void compactInTransaction(long revision) throws SQLException {
        try (PreparedStatement compacted = connection.prepareStatement(
                "SELECT compacted_revision FROM kv_relay WHERE id = 1 FOR UPDATE");
             PreparedStatement kept = connection.prepareStatement(
                "DELETE FROM kv_events e WHERE e.revision <= ? AND e.key COLLATE \"C\" IN"
                + " (SELECT n.key COLLATE \"C\" FROM kv_events n WHERE n.revision > ? AND n.revision <= ?)");
             PreparedStatement added = connection.prepareStatement(
                "DELETE FROM kv_events e WHERE e.revision > ? AND e.revision <= ? AND (e.kind = 'value_deleted'"
                + " OR EXISTS (SELECT 1 FROM kv_events n WHERE n.key COLLATE \"C\" = e.key COLLATE \"C\""
                + "            AND n.revision > e.revision AND n.revision <= ?))");
             PreparedStatement commands = connection.prepareStatement("DELETE FROM kv_commands WHERE revision <= ?");
             PreparedStatement meta = connection.prepareStatement(
                     "UPDATE kv_relay SET compacted_revision = ? WHERE id = 1")) {
            // Planned for their own bounds each time: a plan for any bounds might read every kept event.
            kept.unwrap(PGStatement.class).setPrepareThreshold(0);
            added.unwrap(PGStatement.class).setPrepareThreshold(0);
            long since;
            try (ResultSet rs = compacted.executeQuery()) {
                rs.next();
                since = rs.getLong(1);
            }
            if (revision <= since) {
                return;
            }
            kept.setLong(1, since);
            kept.setLong(2, since);
            kept.setLong(3, revision);
            kept.executeUpdate();
            added.setLong(1, since);
            added.setLong(2, revision);
            added.setLong(3, revision);
            added.executeUpdate();
            commands.setLong(1, revision);
            commands.executeUpdate();
            meta.setLong(1, revision);
            meta.executeUpdate();
        }
    }

    /** Waits up to {@code timeout} for a commit's NOTIFY (returns at once if one came meanwhile). */
    public void awaitCommit(Duration timeout) {
        try {
            notifications.getNotifications((int) timeout.toMillis());
        } catch (SQLException e) {
            throw new StorageException("Lost the notifications of commits", e);
        }
    }

    /**
     * Gives up the lead and hands the connection back to the pool. The pool keeps the session open, so the lock,
     * the LISTEN and the session's settings are released explicitly; if the session is broken, the server has
     * released them already.
     */
    @Override
    public void close() {
        try (connection; Statement statement = connection.createStatement()) {
            statement.execute("UNLISTEN *");
            statement.execute("SELECT pg_advisory_unlock_all()");
            statement.execute("RESET idle_session_timeout");
            statement.execute("RESET synchronous_commit");
        } catch (SQLException e) {
            // the session is gone, and with it the lock
        }
    }
}
