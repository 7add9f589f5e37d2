package io.kvstream.event;

import java.io.ByteArrayOutputStream;
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
import java.util.concurrent.locks.ReentrantLock;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.Broker;
import io.kvstream.Json;
import io.kvstream.Settings;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.worker.BatchCommitter;
import org.postgresql.PGConnection;

/**
 * Publishes committed events from the {@code kv_events} outbox to the broker, in revision order: each batch as one
 * message to kvstream's own processes and, for outside consumers, each event as its own message.
 * Only one relay in the whole deployment publishes at a time: the one holding a PostgreSQL session-level
 * advisory lock (released by the database if its holder dies, so a standby takes over). The worker of the
 * same process hands it each batch right after commit ({@link #committed}), which it publishes at once; the
 * batches of other worker processes arrive as a NOTIFY and are read from the outbox. It remembers what it
 * published in {@code kv_relay}, so a crash between commit and publish loses nothing (it may publish an event
 * twice; replicas ignore that). The leader also compacts the log to the configured retention, as etcd does.
 */
public final class EventRelay implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventRelay.class.getName());
    private static final int PAGE = 1000;
    private static final AMQP.BasicProperties EVENT_PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();

    private final EventLog eventLog;
    private final Database database;
    private final Broker broker;
    private final long retention;
    private final String notifyChannel;
    private final Thread loop;
    private volatile boolean running = true;
    /** Held while publishing, by the relay thread or by the worker handing over a batch. */
    private final ReentrantLock publishing = new ReentrantLock();
    private volatile boolean leader;
    /** While leader: the channel to publish on and the last revision published and confirmed. */
    private Channel channel;
    private long relayed;

    public EventRelay(Database database, Broker broker, long retention) {
        this.database = database;
        this.eventLog = new EventLog(database);
        this.broker = broker;
        this.retention = retention;
        this.notifyChannel = BatchCommitter.notifyChannel(database.schema());
        this.loop = Thread.ofVirtual().name("event-relay").unstarted(this::run);
    }

    /** True while this relay publishes the events of the whole deployment. */
    public boolean leads() {
        return leader;
    }

    public void start() {
        loop.start();
    }

    /**
     * Publishes a batch this process's worker has just committed, if this relay leads. Never throws: whatever is
     * not published here is read from the outbox by the relay thread on its next wake-up.
     */
    public void committed(List<DomainEvent> events) {
        if (!leader) {
            return;
        }
        publishing.lock();
        try {
            if (!leader || events.getLast().revision() <= relayed) {
                return;
            }
            if (events.getFirst().revision() > relayed + 1) {
                // Another worker committed in between: take everything from the outbox, in order.
                relayPending();
            } else {
                publish(events.stream().filter(e -> e.revision() > relayed).toList());
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Hand-over publish failed; the relay retries from the outbox", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            publishing.unlock();
        }
    }

    private void run() {
        while (running) {
            try (Connection connection = database.dataSource().getConnection();
                 Channel opened = broker.openChannel()) {
                connection.setAutoCommit(true);
                // The relay's progress marker may lag after a crash: the next leader then publishes a few
                // events again, which replicas ignore. Not worth an fsync per relayed page.
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SET synchronous_commit = off");
                    statement.execute("LISTEN " + notifyChannel);
                }
                opened.confirmSelect();
                try {
                    lead(connection, opened);
                } finally {
                    stepDown();
                }
            } catch (SQLException | IOException | TimeoutException | RuntimeException e) {
                if (running) {
                    LOG.log(Level.WARNING, "Event relay interrupted (" + e.getMessage() + "), retrying");
                    pause(Duration.ofSeconds(1));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Takes the lead when it is free and relays until the connection fails or the relay closes. */
    private void lead(Connection connection, Channel opened)
            throws SQLException, IOException, TimeoutException, InterruptedException {
        PGConnection notifications = connection.unwrap(PGConnection.class);
        long stored = 0;
        while (running) {
            if (!leader && tryLock(connection)) {
                stored = relayedRevision(connection);
                publishing.lock();
                try {
                    relayed = stored;
                    channel = opened;
                    leader = true;
                } finally {
                    publishing.unlock();
                }
                LOG.log(Level.INFO, "This worker now relays events after revision " + stored);
            }
            if (leader) {
                publishing.lock();
                try {
                    relayPending();
                } finally {
                    publishing.unlock();
                }
                stored = storeProgress(connection, stored);
            }
            // Wakes on the NOTIFY of another worker process's commit (this process's own batches are handed over
            // and send none while this relay leads); the timeout re-reads the outbox (a safety net) and lets a
            // standby retry the lock.
            notifications.getNotifications(leader ? 1000 : 2000);
        }
    }

    private void stepDown() {
        publishing.lock();
        try {
            leader = false;
            channel = null;
        } finally {
            publishing.unlock();
        }
    }

    private boolean tryLock(Connection connection) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?))")) {
            lock.setString(1, notifyChannel);
            try (ResultSet rs = lock.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** Publishes what the outbox holds after {@link #relayed}. Called with {@link #publishing} held. */
    private void relayPending() throws IOException, InterruptedException, TimeoutException {
        while (running) {
            List<DomainEvent> events = eventLog.after(relayed, PAGE);
            if (events.isEmpty()) {
                return;
            }
            publish(events);
            if (events.size() < PAGE) {
                return;
            }
        }
    }

    /**
     * One message per batch on the batches exchange, which every kvstream process reads (far fewer deliveries per
     * write), and, unless turned off, one message per event on the documented events exchange.
     */
    private void publish(List<DomainEvent> events) throws IOException, InterruptedException, TimeoutException {
        Settings.Amqp settings = broker.settings();
        byte[][] singles = new byte[events.size()][];
        int length = events.size() + 1;
        for (int i = 0; i < singles.length; i++) {
            singles[i] = Json.write(events.get(i));
            length += singles[i].length;
        }
        ByteArrayOutputStream batch = new ByteArrayOutputStream(length);
        batch.write('[');
        for (int i = 0; i < singles.length; i++) {
            if (i > 0) {
                batch.write(',');
            }
            batch.writeBytes(singles[i]);
        }
        batch.write(']');
        channel.basicPublish(settings.eventBatchesExchange(), "", EVENT_PROPS, batch.toByteArray());
        if (settings.publicEvents()) {
            for (byte[] single : singles) {
                channel.basicPublish(settings.eventsExchange(), "", EVENT_PROPS, single);
            }
        }
        channel.waitForConfirmsOrDie(10_000);
        relayed = events.getLast().revision();
    }

    /** Records progress for the next leader and compacts when due; returns the revision now stored. */
    private long storeProgress(Connection connection, long stored) throws SQLException {
        long last;
        publishing.lock();
        try {
            last = relayed;
        } finally {
            publishing.unlock();
        }
        if (last <= stored) {
            return stored;
        }
        try (PreparedStatement update = connection.prepareStatement(
                "UPDATE kv_relay SET relayed_revision = ? WHERE id = 1 AND relayed_revision < ?")) {
            update.setLong(1, last);
            update.setLong(2, last);
            update.executeUpdate();
        }
        compactIfDue(connection, stored, last);
        return last;
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
