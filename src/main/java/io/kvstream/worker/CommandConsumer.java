package io.kvstream.worker;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

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
 * While this process cannot reach the database at all ({@code databaseUp} false: its monitor's view), it stops
 * consuming until it can: a worker cut off from PostgreSQL alone would otherwise take every other command off the
 * queue and hand it back a pool timeout later, while the other workers could have committed it at once.
 * <p>
 * Only the worker whose relay leads takes commands from the queue ({@code leads}); the others stand by and take over
 * with the lead. Every commit takes the same revision lock, so a second consumer adds no parallel commits, only
 * smaller batches: each of them paid for again (a transaction, a NOTIFY, an outbox read by the leading relay and an
 * event message to every process). The leader's own batches reach its relay in-process.
 * <p>
 * In the all-in-one role the API of the same process hands its synchronous commands over directly ({@link #handOver}):
 * they join the same batches without a trip through the broker. Their senders wait, so nothing is lost that anyone
 * was told had happened: a crash loses them as it loses the open requests. While the database is down they are kept
 * and retried with the next batch, which their command ids make safe.
 */
public final class CommandConsumer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandConsumer.class.getName());
    private static final Duration MIN_BACKOFF = Duration.ofMillis(50);
    private static final Duration MAX_BACKOFF = Duration.ofMillis(250);
    private static final int REHEARSALS = 50;
    /** Hand-overs (each up to a message's worth of commands) waiting for the loop at most. */
    private static final int MAX_HANDED_OVER = 1024;

    /**
     * How long a worker that stops taking commands (paused, or shutting down) spends handing its lane's waiting
     * commands to the command queue at most.
     */
    private static final Duration LANE_HAND_BACK = Duration.ofSeconds(5);

    /** How often a worker that stopped consuming looks at {@code databaseUp} again (no network involved). */
    private static final Duration DATABASE_POLL = Duration.ofMillis(50);

    private final BatchCommitter committer;
    /**
     * A batch also ends once its keys and values pass this many characters: its events are held, and encoded as
     * JSON (a control character six times over), while it commits and is published, so a batch size of large values
     * would run the heap out.
     */
    private static final int MAX_BATCH_CHARS = 4 * 1024 * 1024;
    private final WorkerMetrics metrics;
    private final BooleanSupplier databaseUp;
    private final BooleanSupplier leads;
    private final int batchSize;
    private final int prefetch;
    private final BlockingQueue<Pending> deliveries;
    private final Semaphore handOverRoom = new Semaphore(MAX_HANDED_OVER);
    /** Hand-overs whose batch failed on a database outage: first in the next batch. Only the loop touches it. */
    private final List<HandedOver> retry = new ArrayList<>();
    private final CommandReceiver receiver;
    private final Thread loop;
    private volatile boolean running = true;

    public CommandConsumer(Broker broker, BatchCommitter committer, WorkerMetrics metrics, int batchSize,
                           BooleanSupplier databaseUp, BooleanSupplier leads) throws IOException {
        this.committer = committer;
        this.metrics = metrics;
        this.databaseUp = databaseUp;
        this.leads = leads;
        this.batchSize = batchSize;
        // Twice the batch size in flight: one batch commits while the next one arrives. The local queue
        // has room for more than the prefetch window because after a broker recovery the unacked
        // deliveries of the old channel are still queued here while the new channel redelivers them, and
        // twice that for a worker that also consumes its own lane (a prefetch window for each queue).
        this.prefetch = batchSize * 2;
        this.deliveries = new ArrayBlockingQueue<>(prefetch * 8 + MAX_HANDED_OVER);
        this.receiver = new CommandReceiver(broker, incoming -> deliveries.add(new Delivered(incoming)));
        // A platform thread, unlike the rest: this one loop waits on PostgreSQL twice and on the broker's confirm once
        // per batch, and a virtual thread pays each wait twice over (its carrier parks, a poller thread wakes to resume
        // it); as the loop's own thread it is one sleep and one wake-up
        // (bench/results/ab/put-worker-platform-thread.md).
        this.loop = Thread.ofPlatform().daemon().name("command-consumer").unstarted(this::run);
    }

    /** What the loop takes: a message of the command queue, or commands handed over in this process. */
    private sealed interface Pending permits Delivered, HandedOver {
        List<Command> commands();

        default int chars() {
            return commands().stream().mapToInt(Command::chars).sum();
        }
    }

    private record Delivered(Incoming incoming) implements Pending {
        @Override
        public List<Command> commands() {
            return incoming.commands();
        }
    }

    /** {@code onOutcome} gets the outcomes that no domain event announces. */
    private record HandedOver(List<Command> commands, Consumer<CommandOutcome> onOutcome) implements Pending {
    }

    /**
     * Takes synchronous commands of this process's API into the next batch; the outcomes their events do not announce
     * ({@link CommandOutcome#announcedByEvent}) go to {@code onOutcome}. False if the worker has stopped or too many
     * hand-overs wait already.
     */
    public boolean handOver(List<Command> commands, Consumer<CommandOutcome> onOutcome) {
        if (!running || !handOverRoom.tryAcquire()) {
            return false;
        }
        deliveries.add(new HandedOver(List.copyOf(commands), onOutcome));
        return true;
    }

    /**
     * Rehearses a few commits first ({@link BatchCommitter#rehearse}), so that the first batches of a cold worker do
     * not load and interpret the commit's code while holding the revision lock. Then consumes once its relay leads.
     */
    public void start() {
        try {
            committer.rehearse(REHEARSALS);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "Rehearsal of a commit failed (" + e.getMessage() + "); consuming anyway");
        }
        loop.start();
    }

    private void run() {
        Duration backoff = MIN_BACKOFF;
        List<Pending> batch = new ArrayList<>();
        while (running || !deliveries.isEmpty()) {
            try {
                if (!databaseUp.getAsBoolean()) {
                    pauseWhileDatabaseIsDown();
                }
                followTheLead();
                batch.addAll(retry);
                retry.clear();
                if (batch.isEmpty()) {
                    // Also how soon an idle standby notices it now leads.
                    Pending first = deliveries.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                }
                int commands = batch.stream().mapToInt(p -> p.commands().size()).sum();
                long chars = batch.stream().mapToLong(Pending::chars).sum();
                while (commands < batchSize && chars < MAX_BATCH_CHARS) {
                    Pending next = deliveries.poll();
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                    commands += next.commands().size();
                    chars += next.chars();
                }
                if (process(batch)) {
                    backoff = MIN_BACKOFF;
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

    /**
     * Stops consuming while this process cannot reach the database; once it can, {@link #followTheLead} decides.
     */
    private void pauseWhileDatabaseIsDown() throws InterruptedException {
        if (receiver.consuming()) {
            stopConsuming();
        }
        LOG.log(Level.WARNING, "Database unreachable: this worker takes no commands until it is back");
        while (running && !databaseUp.getAsBoolean()) {
            Thread.sleep(DATABASE_POLL);
        }
        LOG.log(Level.INFO, "Database reachable again");
    }

    /**
     * Consumes while this worker's relay leads, and stands by otherwise (the lead may change at any time). Whether the
     * consumer is subscribed is the receiver's to say: a pause that failed with the broker away still unsubscribed it.
     */
    private void followTheLead() {
        boolean leading = running && leads.getAsBoolean();
        boolean consuming = receiver.consuming();
        if (leading && !consuming) {
            try {
                receiver.resume(prefetch);
                LOG.log(Level.INFO, "This worker leads: it takes commands");
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "Could not consume (" + e.getMessage() + "), trying again");
            }
        } else if (!leading && consuming && stopConsuming()) {
            LOG.log(Level.INFO, "Another worker leads: this one stands by");
        }
    }

    /**
     * Cancels the consumer and hands back what it delivered; false if the broker was away (unsubscribed all the same,
     * and what it delivered goes back to the queue with the lost channel).
     */
    private boolean stopConsuming() {
        try {
            receiver.pause(LANE_HAND_BACK);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Could not pause the consumer cleanly (unsubscribed all the same)", e);
            return false;
        }
        handBackDeliveries();
        return true;
    }

    /**
     * Hands the messages delivered here and not yet taken back (to the command queue), for the workers that can commit
     * them; commands handed over in this process wait for the next batch.
     */
    private void handBackDeliveries() {
        List<Pending> waiting = new ArrayList<>();
        deliveries.drainTo(waiting);
        List<Incoming> messages = new ArrayList<>();
        for (Pending pending : waiting) {
            switch (pending) {
                case Delivered delivered -> messages.add(delivered.incoming());
                case HandedOver handedOver -> retry.add(handedOver);
            }
        }
        receiver.handBack(messages);
    }

    /**
     * Commits, answers and acks one batch; returns false when the database was unavailable (requeued, and the hand-overs
     * kept for the next batch). A broker that went away after the commit is no reason to pause: the deliveries still
     * queued here are of the lost channel, and the broker redelivers them all to whichever worker consumes next.
     */
    private boolean process(List<Pending> batch) {
        List<Pending> from = new ArrayList<>();
        List<Command> commands = new ArrayList<>();
        List<HandedOver> handedOver = new ArrayList<>();
        List<Incoming> delivered = new ArrayList<>();
        for (Pending pending : batch) {
            for (Command command : pending.commands()) {
                from.add(pending);
                commands.add(command);
            }
            switch (pending) {
                case Delivered message -> delivered.add(message.incoming());
                case HandedOver handed -> handedOver.add(handed);
            }
        }
        List<CommandOutcome> outcomes;
        try {
            outcomes = commands.isEmpty() ? List.of() : commitOrIsolate(commands);
        } catch (RuntimeException e) {
            if (!BatchStore.isOutage(e)) {
                // Their senders time out ("may still apply"); the room they took is free again.
                handOverRoom.release(handedOver.size());
                throw e;
            }
            LOG.log(Level.WARNING, "Database unavailable, " + batch.size() + " messages requeued: " + e.getMessage());
            receiver.handBack(delivered);
            retry.addAll(handedOver);
            return false;
        }
        metrics.batchCommitted(commands.size());
        // The hand-overs first: answering them needs no network, so a broker gone away cannot hold them up.
        for (int i = 0; i < outcomes.size(); i++) {
            if (from.get(i) instanceof HandedOver handed && !outcomes.get(i).announcedByEvent()) {
                handed.onOutcome().accept(outcomes.get(i));
            }
        }
        handOverRoom.release(handedOver.size());
        try {
            for (int i = 0; i < outcomes.size(); i++) {
                if (from.get(i) instanceof Delivered message) {
                    receiver.reply(message.incoming(), outcomes.get(i));
                }
            }
            if (!delivered.isEmpty()) {
                receiver.ackThrough(delivered.getLast().deliveryTag());
            }
        } catch (IOException e) {
            // The broker went away after commit: redelivery will answer from the recorded outcomes.
            LOG.log(Level.WARNING, "Broker unavailable while acking: " + e.getMessage());
        }
        return true;
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

    /**
     * Stops taking commands (its lane unbound first), finishes the batch in hand and what was already delivered, hands
     * what its lane still holds to the command queue, then returns. The lane goes with the connection: what it held
     * then would be lost.
     */
    @Override
    public void close() {
        receiver.stopConsuming();
        running = false;
        try {
            loop.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!loop.isAlive()) {
            // Delivered after the loop had ended (the consumers' cancel and the last deliveries crossed).
            handBackDeliveries();
            receiver.handBackLane(LANE_HAND_BACK);
        }
        receiver.close();
    }
}
