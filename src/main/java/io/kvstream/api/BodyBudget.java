package io.kvstream.api;

import java.util.concurrent.Semaphore;

/**
 * The request bodies a process holds at once, across all its clients, bounded in bytes
 * ({@code kvstream.http.max-total-body-bytes}). One body is bounded by its own limit, but many clients sending large
 * bodies slowly would each pin theirs until the heap ran out: past this bound a body is refused (503, Retry-After)
 * while those already held are answered as usual. A request's share grows with the bytes it has read, so a client
 * that announces a large body and sends nothing holds nothing, and it is held until the request is answered, as the
 * value travels on in the command it becomes.
 */
public final class BodyBudget {
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
            throw new IllegalArgumentException("kvstream.http.max-total-body-bytes (" + maxTotalBytes + ") is below the "
                                               + bytes + " bytes " + body + " may have");
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
