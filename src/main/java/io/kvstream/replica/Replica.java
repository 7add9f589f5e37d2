package io.kvstream.replica;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Entry;
import io.kvstream.domain.Keys;
import io.kvstream.event.EventSequencer;
import io.kvstream.storage.SnapshotReader;
import io.kvstream.wire.Json;

/**
 * Every key and value in memory, kept current by applying each event once, in revision order (never a reload).
 * Each key has a {@link Slot} that a hash index (point reads) and a sorted index (listings, keyed by
 * {@link Keys#sortForm}, so that they list in PostgreSQL's order) share: a new value for an existing key, the common
 * write, replaces the slot's entry in O(1) and touches neither index (a skip-list insert per event was the API's
 * hottest method under PUT load); only a new or deleted key costs O(log n). Reads of one key take no lock; a page of
 * a listing is read under a shared lock so it is consistent with the revision it reports. The events of a transaction
 * are applied as one unit, which neither kind of read sees a part of. Writers waiting for read-your-writes park on
 * the revision they need and are released by the apply that reaches it.
 */
public final class Replica implements EventSequencer.Listener {
    /**
     * A fingerprint of the whole content: operators compare it across pods and with the database
     * ({@link #digestOf}) to prove a replica equals the store. Order-independent, so it streams.
     */
    public record Digest(long revision, long keys, String checksum) {
    }

    /** One page of a listing, consistent at {@code revision}; {@code next} is the key to continue after. */
    public record Page(long revision, List<Map.Entry<String, Entry>> values, String next) {
    }

    /** Where a key's current entry lives; replaced only under the page lock's write side. */
    private static final class Slot {
        private volatile Entry entry;

        private Slot(Entry entry) {
            this.entry = entry;
        }
    }

    /** The two indexes of the same slots; swapped together on a snapshot load, under the page lock. */
    private volatile ConcurrentHashMap<String, Slot> byKey = new ConcurrentHashMap<>();
    private volatile ConcurrentSkipListMap<String, Slot> sorted = new ConcurrentSkipListMap<>();
    private final ReentrantReadWriteLock pageLock = new ReentrantReadWriteLock();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> waiters = new ConcurrentSkipListMap<>();
    private final SnapshotReader snapshots;
    private volatile long revision = -1;
    /**
     * A sequence lock for point reads: odd while the events of a transaction are being applied, counted up at its
     * start and end (only under the page lock's write side).
     */
    private volatile long unitsApplying;
    /** Kept by hand: ConcurrentSkipListMap.size() walks the whole map. */
    private volatile int size;

    public Replica(SnapshotReader snapshots) {
        this.snapshots = snapshots;
    }

    /** Replaces the content with a fresh snapshot; returns the revision it is at. */
    public long load() {
        // A TreeMap fills fast, and a skip list built from a sorted map is built in linear time.
        TreeMap<String, Slot> loaded = new TreeMap<>();
        long at = snapshots.read((key, value, modRevision, expires) ->
                                         loaded.put(Keys.sortForm(key), new Slot(new Entry(value, modRevision, expires))));
        ConcurrentSkipListMap<String, Slot> freshSorted = new ConcurrentSkipListMap<>(loaded);
        ConcurrentHashMap<String, Slot> freshByKey = new ConcurrentHashMap<>(loaded.size() * 4 / 3 + 16);
        loaded.forEach((form, slot) -> freshByKey.put(Keys.fromSortForm(form), slot));
        pageLock.writeLock().lock();
        try {
            byKey = freshByKey;
            sorted = freshSorted;
            size = loaded.size();
            revision = at;
        } finally {
            pageLock.writeLock().unlock();
        }
        releaseWaiters(at);
        return at;
    }

    public boolean loaded() {
        return revision >= 0;
    }

    public long revision() {
        return revision;
    }

    public int size() {
        return size;
    }

    /**
     * The key's entry, or null if there is none or its deadline has passed: an expired value is gone for readers
     * from its deadline on, before the delete that ends it arrives.
     */
    public Entry get(String key) {
        Entry entry = stored(key);
        // The clock is read only for a value with a deadline: GET of a permanent key is the hot path.
        return entry == null || entry.expires() != null && entry.expiredAt(Instant.now()) ? null : entry;
    }

    /** The key's entry as the events left it, its deadline passed or not. */
    public Entry stored(String key) {
        long before = unitsApplying;
        if ((before & 1) == 0) {
            Slot slot = byKey.get(key);
            Entry entry = slot == null ? null : slot.entry;
            if (unitsApplying == before) {
                return entry;
            }
        }
        // A transaction was being applied: wait for its end rather than see a part of it.
        pageLock.readLock().lock();
        try {
            Slot slot = byKey.get(key);
            return slot == null ? null : slot.entry;
        } finally {
            pageLock.readLock().unlock();
        }
    }

    @Override
    public void onEvent(DomainEvent event) {
        pageLock.writeLock().lock();
        try {
            apply(event);
        } finally {
            pageLock.writeLock().unlock();
        }
        releaseWaiters(event.revision());
    }

    /**
     * The events of one transaction, as one unit: a listing sees all or none of them (the page lock), and so does a
     * point read, which takes no lock but checks {@link #unitsApplying} around its read and, if a unit was being
     * applied meanwhile, reads again under the page lock. Waiters are released once the last one is applied.
     */
    @Override
    public void onEvents(List<DomainEvent> events) {
        pageLock.writeLock().lock();
        try {
            unitsApplying++;
            events.forEach(this::apply);
        } finally {
            unitsApplying++;
            pageLock.writeLock().unlock();
        }
        releaseWaiters(events.getLast().revision());
    }

    /** Applies one event; the caller holds the page lock's write side. */
    private void apply(DomainEvent event) {
        Slot slot = byKey.get(event.key());
        if (event.isPut()) {
            Entry entry = new Entry(event.value(), event.revision(),
                                    event.expires() == null ? null : Instant.parse(event.expires()));
            if (slot != null) {
                slot.entry = entry;
            } else {
                slot = new Slot(entry);
                byKey.put(event.key(), slot);
                sorted.put(Keys.sortForm(event.key()), slot);
                size++;
            }
        } else if (slot != null) {
            byKey.remove(event.key());
            sorted.remove(Keys.sortForm(event.key()));
            size--;
        }
        revision = event.revision();
    }

    /** {@link #list(String, String, int, long)} without a bound in bytes, for a caller that sends no whole values. */
    public Page list(String prefix, String after, int limit) {
        return list(prefix, after, limit, Long.MAX_VALUE);
    }

    /**
     * Keys starting with {@code prefix}, sorted, strictly after {@code after} (if given), at most {@code limit}, and
     * no more than fit in {@code maxBytes} of keys and values as JSON strings (the first always does); values whose
     * deadline has passed are left out. {@code next} is set whenever more keys follow.
     */
    public Page list(String prefix, String after, int limit, long maxBytes) {
        Instant now = Instant.now();
        pageLock.readLock().lock();
        try {
            String from = Keys.sortForm(prefix);
            String past = after == null ? null : Keys.sortForm(after);
            boolean fromPrefix = past == null || past.compareTo(from) < 0;
            NavigableMap<String, Slot> range = sorted.tailMap(fromPrefix ? from : past, fromPrefix);
            List<Map.Entry<String, Entry>> page = new ArrayList<>(Math.min(limit, 1024));
            String next = null;
            // Without a bound nothing is measured: a listing of keys alone does not read through its values.
            boolean bounded = maxBytes < Long.MAX_VALUE;
            long bytes = 0;
            for (Map.Entry<String, Slot> e : range.entrySet()) {
                if (!e.getKey().startsWith(from)) {
                    break;
                }
                Entry entry = e.getValue().entry;
                if (entry.expiredAt(now)) {
                    continue;
                }
                String key = Keys.fromSortForm(e.getKey());
                if (bounded) {
                    bytes += Json.stringLength(key) + Json.stringLength(entry.value());
                }
                if (page.size() == limit || (!page.isEmpty() && bytes > maxBytes)) {
                    next = page.getLast().getKey();
                    break;
                }
                page.add(Map.entry(key, entry));
            }
            return new Page(revision, page, next);
        } finally {
            pageLock.readLock().unlock();
        }
    }


    public Digest digest() {
        pageLock.readLock().lock();
        try {
            long sum = 0;
            for (Map.Entry<String, Slot> e : byKey.entrySet()) {
                Entry entry = e.getValue().entry;
                sum += entryHash(e.getKey(), entry.value(), entry.modRevision());
            }
            return new Digest(revision, size, HexFormat.of().toHexDigits(sum));
        } finally {
            pageLock.readLock().unlock();
        }
    }

    /** The same fingerprint computed from a database snapshot. */
    public static Digest digestOf(SnapshotReader snapshots) {
        long[] sumAndCount = new long[2];
        long at = snapshots.read((key, value, modRevision, expires) -> {
            sumAndCount[0] += entryHash(key, value, modRevision);
            sumAndCount[1]++;
        });
        return new Digest(at, sumAndCount[1], HexFormat.of().toHexDigits(sumAndCount[0]));
    }

    private static long entryHash(String key, String value, long modRevision) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(key.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(value.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Long.toString(modRevision).getBytes(StandardCharsets.US_ASCII));
            return ByteBuffer.wrap(sha.digest()).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until this replica has applied {@code target}; false if {@code timeout} passed first.
     */
    public boolean awaitRevision(long target, Duration timeout) {
        if (revision >= target) {
            return true;
        }
        CompletableFuture<Void> reached = waiters.computeIfAbsent(target, r -> new CompletableFuture<>());
        // The apply may have happened between the check and the registration.
        if (revision >= target) {
            releaseWaiters(revision);
            return true;
        }
        try {
            reached.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return false;
        }
    }

    private void releaseWaiters(long applied) {
        Map<Long, CompletableFuture<Void>> done = waiters.headMap(applied, true);
        if (done.isEmpty()) {
            return;
        }
        done.values().forEach(f -> f.complete(null));
        done.clear();
    }
}
