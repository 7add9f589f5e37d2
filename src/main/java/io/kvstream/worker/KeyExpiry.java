package io.kvstream.worker;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.function.BooleanSupplier;

import io.kvstream.storage.BatchStore;

/**
 * The worker's second loop: a few times a second it looks for keys whose time to live has run out and expires them,
 * a batch of at most {@link #BATCH} keys per transaction, back to back while more are due. Each expiry is a batch of
 * its own under the revision lock ({@link BatchCommitter#expire}), so it takes its place in the one order of changes
 * between command batches, and each deadline is expired once. The worker that leads looks; a standby, which takes no
 * commands either, does not. Deadlines live in PostgreSQL: a key due while no worker ran is expired by the first one
 * that looks after.
 * Readers do not wait for this: from its deadline on a value is gone from every replica's reads.
 */
public final class KeyExpiry implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KeyExpiry.class.getName());
    /** Keys per expiry transaction: enough to keep up, few enough that command batches are not held up long. */
    static final int BATCH = 500;
    private static final Duration LOOK = Duration.ofMillis(250);
    private static final Duration RETRY_PAUSE = Duration.ofSeconds(1);

    private final BatchCommitter committer;
    private final BooleanSupplier leads;
    private final Thread loop;
    private volatile boolean running = true;

    /** {@code leads}: whether this worker takes commands now; a standby leaves the deadlines to the leader. */
    public KeyExpiry(BatchCommitter committer, BooleanSupplier leads) {
        this.committer = committer;
        this.leads = leads;
        this.loop = Thread.ofVirtual().name("key-expiry").unstarted(this::run);
    }

    public void start() {
        loop.start();
    }

    private void run() {
        boolean failing = false;
        while (running) {
            try {
                while (running && leads.getAsBoolean() && committer.expire(BATCH) == BATCH) {
                    // More are due: the next batch at once.
                }
                failing = false;
                Thread.sleep(LOOK);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                // Nothing was expired: the deadlines are still stored, and the next look tries again.
                LOG.log(failing || BatchStore.isOutage(e) ? Level.DEBUG : Level.WARNING,
                        "Expiring keys failed (" + e.getMessage() + "), trying again", e);
                failing = true;
                try {
                    Thread.sleep(RETRY_PAUSE);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
        try {
            loop.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
