package io.kvstream.event;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.Database;
import io.kvstream.storage.Outbox;
import io.kvstream.wire.Broker;
import io.kvstream.wire.EventPublisher;

/**
 * Publishes committed events from the outbox to the broker, in revision order ({@link EventPublisher}). Only one relay
 * in the whole deployment publishes at a time: the one that holds the {@link Outbox}'s lead. The worker of the same
 * process hands it each batch right after commit ({@link #committed}), which it publishes at once; the batches of
 * other worker processes arrive as a NOTIFY and are read from the outbox. It records what it published, so a crash
 * between commit and publish loses nothing (it may publish an event twice; replicas ignore that). The leader also
 * compacts the log to the configured retention, as etcd does.
 */
public final class EventRelay implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EventRelay.class.getName());
    private static final int PAGE = 1000;
    /**
     * A page of the outbox ends before its keys and values pass this (one larger event comes alone): after a restart
     * the relay reads what was not published yet, and a thousand large values read at once ran the heap out.
     */
    private static final long PAGE_BYTES = 4L * 1024 * 1024;
    /** Between two reads of the outbox while leading (a safety net). */
    private static final Duration LEADER_WAKE_UP = Duration.ofSeconds(1);
    /**
     * How long one wait for the lead lasts. The database grants the lead the moment the leader's session ends, so
     * this bounds nothing but how soon a standby notices that it is closing or that its connection broke.
     */
    private static final Duration STANDBY_WAIT = Duration.ofSeconds(1);
    /**
     * Before opening the outbox and a channel again after the database or the broker failed (and then for as long as
     * the broker's connection is still recovering). Every write waits for the relay, so this pause adds to every
     * outage; an attempt while the database is still down waits out the pool's connection timeout.
     */
    private static final Duration RETRY_PAUSE = Duration.ofMillis(100);
    /** How often a relay waiting for the broker's connection to recover looks at it (no network involved). */
    private static final Duration BROKER_POLL = Duration.ofMillis(20);

    private final Database database;
    private final Broker broker;
    private final boolean publicEvents;
    private final Settings.Events settings;
    private final Thread loop;
    private volatile boolean running = true;
    /** Held while publishing, by the relay thread or by the worker handing over a batch. */
    private final ReentrantLock publishing = new ReentrantLock();
    private volatile boolean leader;
    /** While leader: where to publish, and the last revision published and confirmed. */
    private EventPublisher publisher;
    private Outbox outbox;
    private long relayed;

    public EventRelay(Database database, Broker broker, boolean publicEvents, Settings.Events settings) {
        if (settings.compactionInterval() < 1) {
            throw new IllegalArgumentException("kvstream.events.compaction-interval must be at least 1");
        }
        this.database = database;
        this.broker = broker;
        this.publicEvents = publicEvents;
        this.settings = settings;
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
        boolean failing = false;
        while (running) {
            try (Outbox opened = Outbox.open(database);
                 EventPublisher channel = new EventPublisher(broker, publicEvents)) {
                failing = false;
                try {
                    lead(opened, channel);
                } finally {
                    stepDown();
                }
            } catch (IOException | TimeoutException | RuntimeException e) {
                if (running) {
                    // Once per outage: while the database is down, each attempt waits out the pool's timeout.
                    LOG.log(failing ? Level.DEBUG : Level.WARNING, "Event relay interrupted (" + e.getMessage()
                                                                   + "), retrying");
                    failing = true;
                    pause(RETRY_PAUSE);
                    while (running && !broker.isOpen()) {
                        pause(BROKER_POLL);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Takes the lead when it is free and relays until the connection fails or the relay closes. */
    private void lead(Outbox opened, EventPublisher channel)
            throws IOException, TimeoutException, InterruptedException {
        long stored = 0;
        while (running) {
            if (!leader && opened.awaitLead(STANDBY_WAIT)) {
                stored = opened.relayedRevision();
                publishing.lock();
                try {
                    relayed = stored;
                    outbox = opened;
                    publisher = channel;
                    leader = true;
                } finally {
                    publishing.unlock();
                }
                LOG.log(Level.INFO, "This worker now relays events after revision " + stored);
            }
            if (leader) {
                // A page at a time, each followed by a round trip on the lead's session (its progress, or a
                // heartbeat), so that the server never ends it as silent while a backlog is relayed.
                boolean more = true;
                while (more && running) {
                    publishing.lock();
                    try {
                        more = relayPage();
                    } finally {
                        publishing.unlock();
                    }
                    long before = stored;
                    stored = storeProgress(opened, stored);
                    if (stored == before) {
                        opened.heartbeat();
                    }
                }
                // Wakes on the NOTIFY of another worker process's commit (this process's own batches are handed
                // over and send none while this relay leads); the timeout re-reads the outbox (a safety net).
                opened.awaitCommit(LEADER_WAKE_UP);
            }
        }
    }

    private void stepDown() {
        publishing.lock();
        try {
            leader = false;
            outbox = null;
            publisher = null;
        } finally {
            publishing.unlock();
        }
    }

    /** Publishes what the outbox holds after {@link #relayed}. Called with {@link #publishing} held. */
    private void relayPending() throws IOException, InterruptedException, TimeoutException {
        while (running && relayPage()) {
            // there may be more
        }
    }

    /**
     * Publishes the next page of the outbox after {@link #relayed}; true if it held any (there may be more). Called
     * with {@link #publishing} held.
     */
    private boolean relayPage() throws IOException, InterruptedException, TimeoutException {
        List<DomainEvent> events = outbox.after(relayed, PAGE, PAGE_BYTES);
        if (events.isEmpty()) {
            return false;
        }
        publish(events);
        return true;
    }

    /** Called with {@link #publishing} held. */
    private void publish(List<DomainEvent> events) throws IOException, InterruptedException, TimeoutException {
        publisher.publish(events);
        relayed = events.getLast().revision();
    }

    /** Records progress for the next leader and compacts when due; returns the revision now stored. */
    private long storeProgress(Outbox opened, long stored) {
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
        opened.recordRelayed(last);
        long interval = settings.compactionInterval();
        if (stored / interval != last / interval && last > settings.retention()) {
            opened.compactThrough(last - settings.retention());
        }
        return last;
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
