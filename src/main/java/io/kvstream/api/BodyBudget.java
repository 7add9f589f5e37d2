package io.kvstream.api;

import java.util.concurrent.Semaphore;

/**
 * The request bodies and large answers a process holds at once, across all its clients, bounded in bytes
 * ({@code kvstream.http.max-total-body-bytes}). One body is bounded by its own limit, but many clients sending large
 * bodies slowly, or not reading large answers, would each pin theirs until the heap ran out: past this bound a body
 * or answer is refused (503, Retry-After) while those already held go on as usual. A request's share is taken as its
 * body is read (a declared length at once) and held until the request is answered, as the value travels on in the
 * command it becomes; an answer's while it is written. A body of at most {@link #FREE_BYTES} takes no share: the
 * small writes of a key/value store go on while large bodies fill the budget, and what they hold is bounded by the
 * connections a process takes ({@code server.max-tcp-connections}) times that.
 */
public final class BodyBudget {
    static final String NO_ROOM = "The server holds as many bodies as it may at once; retry";
    /** Bodies up to this size (one read buffer) are not counted. */
    static final int FREE_BYTES = 8 * 1024;
    private static final int UNIT_BYTES = 1024;

    private final long maxTotalBytes;
    private final Semaphore units;

    public BodyBudget(long maxTotalBytes) {
        this.maxTotalBytes = maxTotalBytes;
        this.units = new Semaphore(Math.clamp(maxTotalBytes / UNIT_BYTES, 1, Integer.MAX_VALUE));
    }

    /** Refuses to start with a bound that one body of {@code bytes}, its largest, could never pass. */
    void requireRoomFor(long bytes, String body) {
        if (maxTotalBytes < bytes) {
            throw new IllegalArgumentException("kvstream.http.max-total-body-bytes (" + maxTotalBytes
                                               + ") is below the " + bytes + " bytes " + body + " may have");
        }
    }

    /** An empty share for one request, to be closed once the request is answered. */
    Share share() {
        return new Share();
    }

    /** What one request holds; used by the request's own thread only. */
    final class Share implements AutoCloseable {
        private int held;

        private Share() {
        }

        /** Holds room for {@code bytes} read in all; false, holding no more, if the process holds all it may. */
        boolean cover(long bytes) {
            if (bytes <= FREE_BYTES) {
                return true;
            }
            int needed = (int) ((bytes + UNIT_BYTES - 1) / UNIT_BYTES) - held;
            if (needed <= 0) {
                return true;
            }
            if (!units.tryAcquire(needed)) {
                return false;
            }
            held += needed;
            return true;
        }

        @Override
        public void close() {
            units.release(held);
            held = 0;
        }
    }
}
