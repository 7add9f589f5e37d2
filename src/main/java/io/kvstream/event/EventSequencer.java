package io.kvstream.event;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
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
 * <p>
 * Batches from the broker come in on the connection's reading thread ({@link #receive}), which must never wait: the
 * confirms and deliveries of the whole process queue behind it. So a batch is taken in there only if that needs no
 * catch-up and no one else holds the sequence; otherwise it goes to a bounded queue that a thread of its own drains.
 */
public final class EventSequencer {
    private static final System.Logger LOG = System.getLogger(EventSequencer.class.getName());
    private static final int CATCH_UP_PAGE = 1000;
    /** A catch-up page also ends before its keys and values pass this: large values are read a few at a time. */
    private static final long CATCH_UP_PAGE_BYTES = 4L * 1024 * 1024;
    private static final int MAX_BUFFERED = 100_000;
    /**
     * How many of the last revisions taken in are remembered by their command, so that a revision that comes again as
     * another change is told from a duplicate: the revisions a failed-over database lost, reused by its next commits.
     */
    private static final int REMEMBERED = 4096;
    /**
     * Batches waiting for a catch-up or another holder of the sequence. When full, a batch is dropped: its events are
     * in the log (a batch is published after its commit), and the next gap or the periodic catch-up reads them.
     */
    private static final int MAX_WAITING_BATCHES = 1024;

    /** Receives events in revision order, each exactly once. */
    public interface Listener {
        void onEvent(DomainEvent event);

        /** Events in revision order that belong together (one transaction): by default one by one. */
        default void onEvents(List<DomainEvent> events) {
            events.forEach(this::onEvent);
        }

        /**
         * The events after the old revision cannot be delivered in order (compacted away, or gone with a database
         * restored behind this process); state restarts at {@code revision}.
         */
        default void onResync(long revision) {
        }
    }

    private final EventLog eventLog;
    private final int catchUpPage;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<DomainEvent> buffered = new ArrayList<>();
    /** The events received of a transaction whose last event has not come yet. */
    private final List<DomainEvent> openTxn = new ArrayList<>();
    /** Guards everything above and below except the volatile fields; held while a catch-up reads the log. */
    private final ReentrantLock lock = new ReentrantLock();
    private final BlockingQueue<List<DomainEvent>> waiting = new ArrayBlockingQueue<>(MAX_WAITING_BATCHES);
    private final AtomicBoolean draining = new AtomicBoolean();
    private LongSupplier reload;
    private boolean started;
    private volatile long revision;
    private volatile long highestSeen;
    /** The commands of the last {@link #REMEMBERED} revisions taken in, at revision modulo its length. */
    private final long[] rememberedRevisions = new long[REMEMBERED];
    private final String[] rememberedCommands = new String[REMEMBERED];
    /** A revision came again as another change: the next catch-up reloads. */
    private volatile boolean historyChanged;

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
    public void start(long fromRevision, LongSupplier reload) {
        lock.lock();
        try {
            this.revision = fromRevision;
            this.reload = reload;
            this.started = true;
            buffered.sort(Comparator.comparingLong(DomainEvent::revision));
            List<DomainEvent> pending = List.copyOf(buffered);
            buffered.clear();
            pending.forEach(this::take);
        } finally {
            lock.unlock();
        }
    }

    public long revision() {
        return revision;
    }

    /** How many revisions the newest event seen on the wire is ahead of what was delivered. */
    public long lag() {
        return Math.max(0, highestSeen - revision);
    }

    /**
     * A batch from the broker, on a thread that must not wait: taken in at once if it follows on what was taken in
     * (or comes before the start, to be buffered) and the sequence is free; otherwise left to {@link #drain}.
     */
    public void receive(List<DomainEvent> batch) {
        if (batch.isEmpty()) {
            return;
        }
        if (lock.tryLock()) {
            try {
                if (!started || (consecutive(batch) && batch.getFirst().revision() <= received() + 1)) {
                    batch.forEach(this::take);
                    return;
                }
            } finally {
                lock.unlock();
            }
        }
        if (waiting.offer(batch) && draining.compareAndSet(false, true)) {
            Thread.ofVirtual().name("event-sequencer").start(this::drain);
        }
    }

    private static boolean consecutive(List<DomainEvent> batch) {
        return batch.getLast().revision() - batch.getFirst().revision() == batch.size() - 1;
    }

    /** Takes in the waiting batches, catching up where one does not follow; one drainer at a time. */
    private void drain() {
        do {
            for (List<DomainEvent> batch; (batch = waiting.poll()) != null; ) {
                offerAll(batch);
            }
            draining.set(false);
        } while (!waiting.isEmpty() && draining.compareAndSet(false, true));
    }

    /** The events of one committed batch, in order. */
    public void offerAll(List<DomainEvent> events) {
        lock.lock();
        try {
            events.forEach(this::take);
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: buffers before the start, drops a duplicate, catches up on a gap. */
    private void take(DomainEvent event) {
        highestSeen = Math.max(highestSeen, event.revision());
        if (!started) {
            if (buffered.size() < MAX_BUFFERED) {
                buffered.add(event);
            }
            return;
        }
        if (event.revision() <= received()) {
            if (takenAsAnother(event) && !historyChanged) {
                // Not on this thread, which may be the broker's reading thread: a reload reads a whole snapshot.
                historyChanged = true;
                Thread.ofVirtual().name("event-sequencer-reload").start(this::catchUp);
            }
            return;
        }
        if (event.revision() > received() + 1) {
            readTheLog();
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

    /**
     * Reads whatever the log has after the current revision (periodically, and after a broker reconnect), and reloads
     * when the database's history ends before what this process has taken in.
     */
    public void catchUp() {
        lock.lock();
        try {
            readTheLog();
            reloadIfTheStoreWentBack();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The database restored from a backup, or failed over to a replica that lacked the last commits, ends its history
     * before revisions this process has taken in: those no longer exist, and the revisions committed next reuse their
     * numbers, which this process would skip as seen. So it reloads, as after a compaction. Events are taken in only
     * once committed and the committed revision is read after, so a live database is never behind. Once new commits
     * have passed the old end, the sign is a reused revision that came as another command's change
     * ({@link #historyChanged}). Called under the lock.
     */
    private void reloadIfTheStoreWentBack() {
        if (!started) {
            return;
        }
        long taken = received();
        OptionalLong stored;
        try {
            stored = eventLog.storedRevision();
        } catch (RuntimeException e) {
            return; // the database does not answer: the catch-up has said so
        }
        // No revision stored: a restore is under way (what it has restored so far is not a state to load).
        long committed = stored.orElse(Long.MAX_VALUE);
        if (committed < taken) {
            resync("The database's history ends at revision " + committed + ", before this process's " + taken
                   + " (restored from a backup, or failed over to a replica without the last commits)");
        } else if (historyChanged && stored.isPresent()) {
            resync("A revision this process had taken in came again as another change (the database was restored,"
                   + " or failed over to a replica without the last commits)");
        }
    }

    private void readTheLog() {
        if (!started) {
            return;
        }
        try {
            while (true) {
                List<DomainEvent> events = eventLog.after(received(), catchUpPage, CATCH_UP_PAGE_BYTES);
                if (events.isEmpty()) {
                    break;
                }
                if (events.getFirst().revision() != received() + 1) {
                    resync("Events after revision " + revision + " were compacted");
                    continue;
                }
                events.forEach(this::accept);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Catch-up from the event log failed at revision " + revision + ": "
                                   + e.getMessage());
        }
    }

    /** Reloads the state from a fresh snapshot, and tells the listeners (whose clients must reload too). */
    private void resync(String why) {
        long reloaded = reload.getAsLong();
        LOG.log(Level.WARNING, why + "; reloaded at " + reloaded);
        revision = reloaded;
        openTxn.clear();
        Arrays.fill(rememberedRevisions, 0);
        Arrays.fill(rememberedCommands, null);
        historyChanged = false;
        listeners.forEach(l -> l.onResync(reloaded));
    }

    /** The next event in order: delivered, or held back until the end of its transaction. */
    /** Whether {@code event}'s revision was taken in as a change of another command. */
    private boolean takenAsAnother(DomainEvent event) {
        int slot = (int) (event.revision() % REMEMBERED);
        return rememberedRevisions[slot] == event.revision()
               && !Objects.equals(rememberedCommands[slot], event.command());
    }

    private void accept(DomainEvent event) {
        int slot = (int) (event.revision() % REMEMBERED);
        rememberedRevisions[slot] = event.revision();
        rememberedCommands[slot] = event.command();
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
