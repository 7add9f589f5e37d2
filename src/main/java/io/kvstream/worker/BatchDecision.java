package io.kvstream.worker;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Txn;
import io.kvstream.storage.BatchWrite;
import io.kvstream.storage.StoredState;

/**
 * What a batch of commands does to the store, decided from the state read under the revision lock, with no I/O:
 * commands apply in order, each seeing the changes of those before it; a command id committed before (or earlier in
 * the batch) gets its first outcome again, marked as a repeat, and changes nothing; a failed precondition or a delete
 * of a missing key changes nothing; every change takes the next revision. A command id decided before for another
 * request (its fingerprint differs: an {@code Idempotency-Key} reused) is refused and changes nothing. A transaction
 * evaluates its compares against the state so far (the batch's earlier commands included) and applies the changes of
 * the branch they choose with consecutive revisions; each of its events carries the transaction's end.
 *
 * @param outcomes one per command, in the order of the commands
 * @param fingerprints the request fingerprints of the recorded commands that have one, by id
 */
public record BatchDecision(List<CommandOutcome> outcomes, long revision, Instant at, List<DomainEvent> events,
                            List<CommandOutcome> recorded, Map<String, String> fingerprints) implements BatchWrite {

    public static BatchDecision decide(List<Command> commands, StoredState state, Instant at) {
        Map<String, CommandOutcome> known = new HashMap<>(state.outcomes());
        Map<String, String> knownFingerprints = new HashMap<>(state.fingerprints());
        Changes changes = new Changes(state.modRevisions(), state.revision(), at);
        List<CommandOutcome> outcomes = new ArrayList<>(commands.size());
        List<CommandOutcome> recorded = new ArrayList<>();
        Map<String, String> fingerprints = new HashMap<>();
        for (Command command : commands) {
            CommandOutcome earlier = known.get(command.id());
            if (earlier != null) {
                outcomes.add(Objects.equals(knownFingerprints.get(command.id()), command.fingerprint())
                             ? earlier.asRepeat()
                             : new CommandOutcome(command.id(), CommandOutcome.Status.IDEMPOTENCY_KEY_REUSED,
                                                  changes.revision));
                continue;
            }
            CommandOutcome outcome = command.holdsTxn() ? changes.txn(command) : changes.single(command);
            known.put(command.id(), outcome);
            recorded.add(outcome);
            outcomes.add(outcome);
            if (command.fingerprint() != null) {
                knownFingerprints.put(command.id(), command.fingerprint());
                fingerprints.put(command.id(), command.fingerprint());
            }
        }
        return new BatchDecision(List.copyOf(outcomes), changes.revision, at, List.copyOf(changes.events),
                                 List.copyOf(recorded), Map.copyOf(fingerprints));
    }

    /**
     * The expiry of {@code due}, keys whose deadline had passed at {@code at} as read under the revision lock: each
     * is deleted with the next revision by an event marked expired, under one {@code command} id of its own. Nothing
     * is recorded: no client waits for this command, and a key expires only while its deadline is stored.
     */
    public static BatchDecision expire(List<String> due, long revision, Instant at, String command) {
        List<DomainEvent> events = new ArrayList<>(due.size());
        long next = revision;
        for (String key : due) {
            events.add(DomainEvent.expired(key, ++next, command, at.toString()));
        }
        return new BatchDecision(List.of(), next, at, List.copyOf(events), List.of(), Map.of());
    }

    /** The store as the batch's commands so far left it, and the events that got it there. */
    private static final class Changes {
        private final Map<String, Long> modRevisions;
        private final Instant committed;
        private final String at;
        private final List<DomainEvent> events = new ArrayList<>();
        private long revision;

        private Changes(Map<String, Long> modRevisions, long revision, Instant at) {
            this.modRevisions = new HashMap<>(modRevisions);
            this.revision = revision;
            this.committed = at;
            this.at = at.toString();
        }

        private CommandOutcome single(Command command) {
            if (!command.preconditionHolds(modRevisions.get(command.key()))) {
                return new CommandOutcome(command.id(), CommandOutcome.Status.PRECONDITION_FAILED, revision);
            }
            long changed = apply(command.id(), command.op(), command.key(), command.value(), command.ttl());
            return new CommandOutcome(command.id(), changed == 0 ? CommandOutcome.Status.UNCHANGED
                                                                 : CommandOutcome.Status.APPLIED, revision);
        }

        /**
         * A transaction: the compares against the state so far, then the branch's changes with consecutive
         * revisions; its events name the transaction and where it ends.
         */
        private CommandOutcome txn(Command command) {
            Txn txn = command.txn();
            boolean succeeded = txn.compare().stream().allMatch(c -> c.holds(modRevisions.get(c.key())));
            int firstEvent = events.size();
            List<Long> revisions = new ArrayList<>();
            for (Txn.Change change : txn.branch(succeeded)) {
                revisions.add(apply(command.id(), change.op(), change.key(), change.value(), null));
            }
            List<DomainEvent> own = events.subList(firstEvent, events.size());
            own.replaceAll(event -> event.inTxn(revision));
            return new CommandOutcome(command.id(), own.isEmpty() ? CommandOutcome.Status.UNCHANGED
                                                                  : CommandOutcome.Status.APPLIED,
                                      revision, new CommandOutcome.TxnResult(succeeded, List.copyOf(revisions)),
                                      false);
        }

        /**
         * Puts or deletes the key; returns the revision of the change, or 0 for a delete of a missing key. A put with
         * a {@code ttl} expires that many seconds after the commit; one without makes the key permanent.
         */
        private long apply(String command, Command.Op op, String key, String value, Long ttl) {
            if (op == Command.Op.PUT) {
                revision++;
                modRevisions.put(key, revision);
                events.add(DomainEvent.put(key, value, revision, command, at,
                                           ttl == null ? null : committed.plusSeconds(ttl).toString()));
                return revision;
            }
            if (modRevisions.remove(key) == null) {
                return 0;
            }
            revision++;
            events.add(DomainEvent.deleted(key, revision, command, at));
            return revision;
        }
    }
}
