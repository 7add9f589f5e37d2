package io.kvstream.event;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.EventLog;

/**
 * Turns the at-least-once, possibly reordered event feed into an exact, gap-free sequence for its
 * listeners: an event at {@code current + 1} is delivered, a duplicate is dropped, and a gap is filled
 * from the event log first. Until {@link #start} names the revision the process's state starts from,
 * arriving events are buffered, so nothing falls between subscribing and loading the snapshot.
 * <p>
 * The events of one transaction are handed over together ({@link Listener#onEvents}), so a listener can apply them
 * as one unit. They are consecutive and usually come in one batch message, but a catch-up page can end inside a
 * transaction: each of its events names the transaction's last revision ({@link DomainEvent#txnEnd()}), and those
 * before it are held back here until it arrives.
 */
public final class EventSequencer {
    private static final System.Logger LOG = System.getLogger(EventSequencer.class.getName());
    private static final int CATCH_UP_PAGE = 1000;
    private static final int MAX_BUFFERED = 100_000;

    /** Receives events in revision order, each exactly once. */
    public interface Listener {
        void onEvent(DomainEvent event);

        /** Events in revision order that belong together (one transaction): by default one by one. */
        default void onEvents(List<DomainEvent> events) {
            events.forEach(this::onEvent);
        }

        /** The events after the old revision were compacted away; state restarts at {@code revision}. */
        default void onResync(long revision) {
        }
    }

    private final EventLog eventLog;
    private final int catchUpPage;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<DomainEvent> buffered = new ArrayList<>();
    /** The events received of a transaction whose last event has not come yet. */
    private final List<DomainEvent> openTxn = new ArrayList<>();
    private LongSupplier reload;
    private boolean started;
    private volatile long revision;
    private volatile long highestSeen;

    public EventSequencer(EventLog eventLog) {
        this(eventLog, CATCH_UP_PAGE);
    }

    /** With catch-up pages of {@code catchUpPage} events (tests: small pages that end inside a transaction). */
    public EventSequencer(EventLog eventLog, int catchUpPage) {
        this.eventLog = eventLog;
        this.catchUpPage = catchUpPage;
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /**
     * Starts delivering after {@code fromRevision}; {@code reload} rebuilds the state from a fresh snapshot
     * and returns its revision, for when the log no longer holds the events needed to catch up.
     */
    public synchronized void start(long fromRevision, LongSupplier reload) {
        this.revision = fromRevision;
        this.reload = reload;
        this.started = true;
        buffered.sort(Comparator.comparingLong(DomainEvent::revision));
        List<DomainEvent> pending = List.copyOf(buffered);
        buffered.clear();
        pending.forEach(this::offer);
    }

    public long revision() {
        return revision;
    }

    /** How many revisions the newest event seen on the wire is ahead of what was delivered. */
    public long lag() {
        return Math.max(0, highestSeen - revision);
    }

    /** The events of one committed batch, in order. */
    public synchronized void offerAll(List<DomainEvent> events) {
        events.forEach(this::offer);
    }

    public synchronized void offer(DomainEvent event) {
        highestSeen = Math.max(highestSeen, event.revision());
        if (!started) {
            if (buffered.size() < MAX_BUFFERED) {
                buffered.add(event);
            }
            return;
        }
        if (event.revision() <= received()) {
            return;
        }
        if (event.revision() > received() + 1) {
            catchUp();
            if (event.revision() <= received()) {
                return;
            }
            if (event.revision() > received() + 1) {
                return; // the log does not have it yet (or the database is down): the periodic catch-up retries
            }
        }
        accept(event);
    }

    /** The revision of the last event taken in: delivered, or held back in an open transaction. */
    private long received() {
        return openTxn.isEmpty() ? revision : openTxn.getLast().revision();
    }

    /** Reads whatever the log has after the current revision; used on gaps and after a broker reconnect. */
    public synchronized void catchUp() {
        if (!started) {
            return;
        }
        try {
            while (true) {
                List<DomainEvent> events = eventLog.after(received(), catchUpPage);
                if (events.isEmpty()) {
                    break;
                }
                if (events.getFirst().revision() != received() + 1) {
                    resync();
                    continue;
                }
                events.forEach(this::accept);
                if (events.size() < catchUpPage) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Catch-up from the event log failed at revision " + revision + ": "
                                   + e.getMessage());
        }
    }

    private void resync() {
        long reloaded = reload.getAsLong();
        LOG.log(Level.WARNING, "Events after revision " + revision + " were compacted; reloaded at " + reloaded);
        revision = reloaded;
        openTxn.clear();
        listeners.forEach(l -> l.onResync(reloaded));
    }

    /** The next event in order: delivered, or held back until the end of its transaction. */
    private void accept(DomainEvent event) {
        if (!openTxn.isEmpty() && !Objects.equals(openTxn.getFirst().txn(), event.txn())) {
            // Cannot happen with a transaction's consecutive revisions; if it did, what came so far is not held back.
            LOG.log(Level.WARNING, "Transaction " + openTxn.getFirst().txn() + " ended early at revision "
                                   + received());
            deliver(List.copyOf(openTxn));
            openTxn.clear();
        }
        if (event.txnContinues()) {
            openTxn.add(event);
            return;
        }
        if (openTxn.isEmpty()) {
            deliver(List.of(event));
            return;
        }
        openTxn.add(event);
        List<DomainEvent> unit = List.copyOf(openTxn);
        openTxn.clear();
        deliver(unit);
    }

    private void deliver(List<DomainEvent> events) {
        for (Listener listener : listeners) {
            if (events.size() == 1) {
                listener.onEvent(events.getFirst());
            } else {
                listener.onEvents(events);
            }
        }
        revision = events.getLast().revision();
    }
}
