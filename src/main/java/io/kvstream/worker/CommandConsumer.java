package io.kvstream.worker;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.storage.BatchStore;
import io.kvstream.wire.Broker;
import io.kvstream.wire.CommandReceiver.Incoming;
import io.kvstream.wire.CommandReceiver;

/**
 * The worker's loop: takes what has arrived on the command queue (up to the batch size of commands), commits it as
 * one batch, answers the commands whose senders wait for a reply, and only then acks. A crash before the ack means
 * the broker redelivers, and the command ids recorded in the same transaction make the redelivery a no-op. While
 * the database is down, the batch goes back to the queue and the loop backs off, briefly: the pool's connection
 * timeout already paces the attempts, and a longer pause would only delay the first commit once the database is back.
 */
public final class CommandConsumer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandConsumer.class.getName());
    private static final Duration MIN_BACKOFF = Duration.ofMillis(50);
    private static final Duration MAX_BACKOFF = Duration.ofMillis(250);
    private static final int REHEARSALS = 50;
    /**
     * A worker that has just started takes one message at a time (slow start) until it has committed this many
     * batches or this long has passed, then its full prefetch. Its first batches are slow, however well rehearsed
     * (a cold JVM); with the full prefetch it would take every other message of the queue meanwhile, and soon every
     * waiting writer would wait for it, while the warm workers had nothing to do.
     */
    private static final int SLOW_START_BATCHES = 100;
    private static final Duration SLOW_START = Duration.ofSeconds(5);

    private final BatchCommitter committer;
    private final WorkerMetrics metrics;
    private final int batchSize;
    private final int prefetch;
    private final BlockingQueue<Incoming> deliveries;
    private final CommandReceiver receiver;
    private final Thread loop;
    private volatile boolean running = true;

    public CommandConsumer(Broker broker, BatchCommitter committer, WorkerMetrics metrics, int batchSize)
            throws IOException {
        this.committer = committer;
        this.metrics = metrics;
        this.batchSize = batchSize;
        // Twice the batch size in flight: one batch commits while the next one arrives. The local queue
        // has room for more than the prefetch window because after a broker recovery the unacked
        // deliveries of the old channel are still queued here while the new channel redelivers them.
        this.prefetch = batchSize * 2;
        this.deliveries = new ArrayBlockingQueue<>(prefetch * 4);
        this.receiver = new CommandReceiver(broker, deliveries::add);
        this.loop = Thread.ofVirtual().name("command-consumer").unstarted(this::run);
    }

    /**
     * Rehearses a few commits first ({@link BatchCommitter#rehearse}), so that the first batches of a cold worker do
     * not load and interpret the commit's code while holding the revision lock every other worker waits for. Then
     * consumes, one message at a time at first (slow start).
     */
    public void start() throws IOException {
        try {
            committer.rehearse(REHEARSALS);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Rehearsal of a commit failed (" + e.getMessage() + "); consuming anyway");
        }
        loop.start();
        receiver.start(1);
    }

    private void run() {
        Duration backoff = MIN_BACKOFF;
        List<Incoming> batch = new ArrayList<>();
        long slowStartEnds = System.nanoTime() + SLOW_START.toNanos();
        int slowStartBatches = 0;
        boolean slowStart = true;
        while (running || !deliveries.isEmpty()) {
            try {
                if (slowStart && (slowStartBatches >= SLOW_START_BATCHES || System.nanoTime() - slowStartEnds > 0)) {
                    slowStart = !widenPrefetch();
                }
                Incoming first = deliveries.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                int commands = first.commands().size();
                while (commands < batchSize) {
                    Incoming next = deliveries.poll();
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                    commands += next.commands().size();
                }
                if (process(batch)) {
                    backoff = MIN_BACKOFF;
                    slowStartBatches++;
                } else {
                    // Requeued: the database was unavailable.
                    Thread.sleep(backoff);
                    backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "Command batch failed unexpectedly", e);
            } finally {
                batch.clear();
            }
        }
    }

    /** Ends the slow start; false if the broker was away (the loop tries again on its next turn). */
    private boolean widenPrefetch() {
        try {
            receiver.changePrefetch(prefetch);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "Could not widen the prefetch after the slow start (" + e.getMessage()
                                   + "), trying again");
            return false;
        }
    }

    /**
     * Commits, answers and acks one batch; returns false when the database was unavailable (requeued). A broker that
     * went away after the commit is no reason to pause: the deliveries still queued here are of the lost channel, and
     * the broker redelivers them all to whichever worker consumes next.
     */
    private boolean process(List<Incoming> batch) {
        List<Incoming> from = new ArrayList<>();
        List<Command> commands = new ArrayList<>();
        for (Incoming incoming : batch) {
            for (Command command : incoming.commands()) {
                from.add(incoming);
                commands.add(command);
            }
        }
        long lastTag = batch.getLast().deliveryTag();
        try {
            List<CommandOutcome> outcomes = commands.isEmpty() ? List.of() : commitOrIsolate(commands);
            for (int i = 0; i < outcomes.size(); i++) {
                receiver.reply(from.get(i), outcomes.get(i));
            }
            metrics.batchCommitted(commands.size());
            receiver.ackThrough(lastTag);
            return true;
        } catch (RuntimeException e) {
            if (!BatchStore.isOutage(e)) {
                throw e;
            }
            LOG.log(Level.WARNING, "Database unavailable, " + batch.size() + " messages requeued: " + e.getMessage());
            receiver.requeueThrough(lastTag);
            return false;
        } catch (IOException e) {
            // The broker went away after commit: redelivery will answer from the recorded outcomes.
            LOG.log(Level.WARNING, "Broker unavailable while acking: " + e.getMessage());
            return true;
        }
    }

    /**
     * A command the database refuses (a data error, not an outage) must not block the queue for ever:
     * the batch is retried one command at a time and the bad one is answered as rejected.
     */
    private List<CommandOutcome> commitOrIsolate(List<Command> commands) {
        try {
            return committer.commit(commands);
        } catch (RuntimeException e) {
            if (BatchStore.isOutage(e)) {
                throw e;
            }
            if (commands.size() == 1) {
                LOG.log(Level.ERROR, "Command " + commands.getFirst().id() + " rejected by the database: "
                                     + e.getMessage());
                return List.of(new CommandOutcome(commands.getFirst().id(), CommandOutcome.Status.REJECTED, 0));
            }
            List<CommandOutcome> outcomes = new ArrayList<>(commands.size());
            for (Command command : commands) {
                outcomes.addAll(commitOrIsolate(List.of(command)));
            }
            return outcomes;
        }
    }

    /** Stops taking commands, finishes the batch in hand and what was already delivered, then returns. */
    @Override
    public void close() {
        receiver.stopConsuming();
        running = false;
        try {
            loop.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        receiver.close();
    }
}
