package io.kvstream.worker;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.storage.BatchStore;
import io.kvstream.storage.StoredState;

/**
 * Commits a batch: decides it ({@link BatchDecision}) inside the store's transaction, then hands its events straight
 * to {@code committed} (this process's relay), which spares the relay a NOTIFY wake-up and a read of the outbox.
 * While another process's relay leads ({@code othersRelay}), the commit sends a NOTIFY to wake it.
 * <p>
 * Only the leading worker takes commands, so the store is usually where this committer's last commit left it. A batch
 * of unconditional puts is then decided at that revision without reading anything and committed in one round trip,
 * guarded by that revision ({@link BatchStore#commitDecidedAt}); if another writer came in between, nothing is written
 * and the batch takes the usual way. Such guesses are made only while the last read found the store where this
 * committer had left it, so that committers taking turns do not pay for guesses that fail.
 */
public final class BatchCommitter {
    private static final long NOT_YET = -1;

    private final BatchStore store;
    private final Consumer<List<DomainEvent>> committed;
    private final BooleanSupplier othersRelay;
    private final WorkerMetrics metrics;
    /** The revision this committer's latest commit left the store at. */
    private final AtomicLong leftAt = new AtomicLong(NOT_YET);
    /** Whether the store was found where this committer had left it, the last time it looked. */
    private volatile boolean writesAlone;

    public BatchCommitter(BatchStore store, Consumer<List<DomainEvent>> committed, BooleanSupplier othersRelay,
                          WorkerMetrics metrics) {
        this.store = store;
        this.committed = committed;
        this.othersRelay = othersRelay;
        this.metrics = metrics;
    }

    /**
     * Runs a made-up batch (a put of one new key, a put and a delete of another) through the whole commit, rolled back
     * and without the revision lock ({@link BatchStore#rehearse}), {@code times} times.
     */
    public void rehearse(int times) {
        for (int i = 0; i < times; i++) {
            // No real key has a "/" in it.
            String kept = "rehearsal/" + UUID.randomUUID();
            String deleted = "rehearsal/" + UUID.randomUUID();
            List<Command> commands = List.of(Command.put(UUID.randomUUID().toString(), kept, "rehearsal", null, false),
                                             Command.put(UUID.randomUUID().toString(), deleted, "rehearsal", null, false),
                                             Command.delete(UUID.randomUUID().toString(), deleted, null));
            Instant at = Instant.now().truncatedTo(ChronoUnit.MICROS);
            store.rehearse(commands, at, state -> BatchDecision.decide(commands, state, at));
        }
    }

    /**
     * Expires up to {@code limit} keys whose deadline has passed, as one batch of its own ({@link BatchStore#expire});
     * returns how many. A look without the lock comes first, so a worker with nothing due never waits for the lock.
     */
    public int expire(int limit) {
        Instant at = Instant.now().truncatedTo(ChronoUnit.MICROS);
        if (!store.anyDue(at)) {
            return 0;
        }
        String command = "expiry-" + UUID.randomUUID();
        BatchDecision decision = store.expire(at, limit, (revision, due) ->
                BatchDecision.expire(due, revision, at, command), othersRelay.getAsBoolean());
        if (decision == null) {
            return 0;
        }
        committed(decision);
        return decision.events().size();
    }

    /** Outcomes in the order of {@code commands}; a command id seen before gets its first outcome again. */
    public List<CommandOutcome> commit(List<Command> commands) {
        // At PostgreSQL's precision, so an event re-read from the log is the event published now.
        Instant at = Instant.now().truncatedTo(ChronoUnit.MICROS);
        long left = leftAt.get();
        boolean notify = othersRelay.getAsBoolean();
        if (writesAlone && commands.stream().noneMatch(Command::readsStoredKeys)) {
            BatchDecision guess = BatchDecision.decide(commands, StoredState.onlyAt(left), at);
            if (store.commitDecidedAt(left, guess, notify)) {
                metrics.batchCommittedUnread();
                return committed(guess);
            }
            writesAlone = false;
        }
        long[] found = {NOT_YET};
        BatchDecision decision = store.commit(commands, at, state -> {
            found[0] = state.revision();
            return BatchDecision.decide(commands, state, at);
        }, notify);
        writesAlone = found[0] == left;
        return committed(decision);
    }

    private List<CommandOutcome> committed(BatchDecision decision) {
        leftAt.accumulateAndGet(decision.revision(), Math::max);
        if (!decision.events().isEmpty()) {
            committed.accept(decision.events());
        }
        return decision.outcomes();
    }
}
