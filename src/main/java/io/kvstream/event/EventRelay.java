package io.kvstream.event;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.Broker;
import io.kvstream.Json;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.worker.BatchCommitter;
import org.postgresql.PGConnection;

/**
 * Publishes committed events from the {@code kv_events} outbox to the events exchange, in revision order.
 * Only one relay in the whole deployment publishes at a time: the one holding a PostgreSQL session-level
 * advisory lock (released by the database if its holder dies, so a standby takes over). It wakes on the
 * NOTIFY sent by every committing transaction, and remembers what it published in {@code kv_relay}, so a
 * crash between commit and publish loses nothing (it may publish an event twice; replicas ignore that).
 * The leader also compacts the log to the configured retention, as etcd does.
 */
public final class EventRelay implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventRelay.class.getName());
    private static final int PAGE = 1000;
    private static final AMQP.BasicProperties EVENT_PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();

    private final Database database;
    private final EventLog eventLog;
    private final Broker broker;
    private final long retention;
    private final String notifyChannel;
    private final Thread loop;
    private volatile boolean running = true;
    private volatile boolean leader;
    /** While leader: the last revision published and confirmed (also stored in kv_relay for the next leader). */
    private long relayed;

    public EventRelay(Database database, Broker broker, long retention) {
        this.database = database;
        this.eventLog = new EventLog(database);
        this.broker = broker;
        this.retention = retention;
        this.notifyChannel = BatchCommitter.notifyChannel(database.schema());
        this.loop = Thread.ofVirtual().name("event-relay").unstarted(this::run);
    }

    public void start() {
        loop.start();
    }

    private void run() {
        while (running) {
            try (Connection connection = database.dataSource().getConnection();
                 Channel channel = broker.openChannel()) {
                connection.setAutoCommit(true);
                // The relay's progress marker may lag after a crash: the next leader then publishes a few
                // events again, which replicas ignore. Not worth an fsync per relayed page.
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SET synchronous_commit = off");
                }
                channel.confirmSelect();
                try (Statement statement = connection.createStatement()) {
                    statement.execute("LISTEN " + notifyChannel);
                }
                PGConnection notifications = connection.unwrap(PGConnection.class);
                while (running) {
                    if (!leader) {
                        leader = tryLock(connection);
                        if (leader) {
                            relayed = relayedRevision(connection);
                            LOG.log(Level.INFO, "This worker now relays events after revision " + relayed);
                        }
                    }
                    if (leader) {
                        relayPending(connection, channel);
                    }
                    // Wakes on the next commit's NOTIFY; the timeout lets a standby retry the lock.
                    notifications.getNotifications(leader ? 1000 : 2000);
                }
            } catch (SQLException | IOException | TimeoutException | RuntimeException e) {
                leader = false;
                if (running) {
                    LOG.log(Level.WARNING, "Event relay interrupted (" + e.getMessage() + "), retrying");
                    pause(Duration.ofSeconds(1));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        leader = false;
    }

    private boolean tryLock(Connection connection) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?))")) {
            lock.setString(1, notifyChannel);
            try (ResultSet rs = lock.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    private void relayPending(Connection connection, Channel channel)
            throws SQLException, IOException, InterruptedException, TimeoutException {
        while (running) {
            List<DomainEvent> events = eventLog.after(relayed, PAGE);
            if (events.isEmpty()) {
                return;
            }
            for (DomainEvent event : events) {
                channel.basicPublish(broker.settings().eventsExchange(), "", EVENT_PROPS, Json.write(event));
            }
            channel.waitForConfirmsOrDie(10_000);
            long last = events.getLast().revision();
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE kv_relay SET relayed_revision = ? WHERE id = 1 AND relayed_revision < ?")) {
                update.setLong(1, last);
                update.setLong(2, last);
                update.executeUpdate();
            }
            compactIfDue(connection, relayed, last);
            relayed = last;
            if (events.size() < PAGE) {
                return;
            }
        }
    }

    private static long relayedRevision(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT relayed_revision FROM kv_relay WHERE id = 1")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Every PAGE revisions, drops events (and remembered command ids) older than the retention window. */
    private void compactIfDue(Connection connection, long before, long after) throws SQLException {
        if (before / PAGE == after / PAGE || after <= retention) {
            return;
        }
        long upTo = after - retention;
        try (PreparedStatement events = connection.prepareStatement("DELETE FROM kv_events WHERE revision <= ?");
             PreparedStatement commands = connection.prepareStatement("DELETE FROM kv_commands WHERE revision <= ?");
             PreparedStatement meta = connection.prepareStatement(
                     "UPDATE kv_relay SET compacted_revision = ? WHERE id = 1 AND compacted_revision < ?")) {
            events.setLong(1, upTo);
            events.executeUpdate();
            commands.setLong(1, upTo);
            commands.executeUpdate();
            meta.setLong(1, upTo);
            meta.setLong(2, upTo);
            meta.executeUpdate();
        }
    }

    private static void pause(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
        try {
            loop.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
