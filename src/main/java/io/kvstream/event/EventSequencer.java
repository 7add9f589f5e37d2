package io.kvstream.event;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.EventLog;

/**
 * Turns the at-least-once, possibly reordered event feed into an exact, gap-free sequence for its
 * listeners: an event at {@code current + 1} is delivered, a duplicate is dropped, and a gap is filled
 * from the event log first. Until {@link #start} names the revision the process's state starts from,
 * arriving events are buffered, so nothing falls between subscribing and loading the snapshot.
 */
public final class EventSequencer {
    private static final System.Logger LOG = System.getLogger(EventSequencer.class.getName());
    private static final int CATCH_UP_PAGE = 1000;
    private static final int MAX_BUFFERED = 100_000;

    /** Receives events in revision order, each exactly once. */
    public interface Listener {
        void onEvent(DomainEvent event);

        /** The events after the old revision were compacted away; state restarts at {@code revision}. */
        default void onResync(long revision) {
        }
    }

    private final EventLog eventLog;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<DomainEvent> buffered = new ArrayList<>();
    private LongSupplier reload;
    private boolean started;
    private volatile long revision;
    private volatile long highestSeen;

    public EventSequencer(EventLog eventLog) {
        this.eventLog = eventLog;
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

    public synchronized void offer(DomainEvent event) {
        highestSeen = Math.max(highestSeen, event.revision());
        if (!started) {
            if (buffered.size() < MAX_BUFFERED) {
                buffered.add(event);
            }
            return;
        }
        if (event.revision() <= revision) {
            return;
        }
        if (event.revision() > revision + 1) {
            catchUp();
            if (event.revision() <= revision) {
                return;
            }
            if (event.revision() > revision + 1) {
                return; // the log does not have it yet (or the database is down): the periodic catch-up retries
            }
        }
        deliver(event);
    }

    /** Reads whatever the log has after the current revision; used on gaps and after a broker reconnect. */
    public synchronized void catchUp() {
        if (!started) {
            return;
        }
        try {
            while (true) {
                List<DomainEvent> events = eventLog.after(revision, CATCH_UP_PAGE);
                if (events.isEmpty()) {
                    break;
                }
                if (events.getFirst().revision() != revision + 1) {
                    resync();
                    continue;
                }
                events.forEach(this::deliver);
                if (events.size() < CATCH_UP_PAGE) {
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
        listeners.forEach(l -> l.onResync(reloaded));
    }

    private void deliver(DomainEvent event) {
        for (Listener listener : listeners) {
            listener.onEvent(event);
        }
        revision = event.revision();
    }
}
