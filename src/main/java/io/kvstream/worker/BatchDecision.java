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
import io.kvstream.storage.BatchWrite;
import io.kvstream.storage.StoredState;

/**
 * What a batch of commands does to the store, decided from the state read under the revision lock, with no I/O:
 * commands apply in order, each seeing the changes of those before it; a command id committed before (or earlier in
 * the batch) gets its first outcome again, marked as a repeat, and changes nothing; a failed precondition or a delete
 * of a missing key changes nothing; every change takes the next revision. A command id decided before for another
 * request (its fingerprint differs: an {@code Idempotency-Key} reused) is refused and changes nothing.
 *
 * @param outcomes one per command, in the order of the commands
 * @param fingerprints the request fingerprints of the recorded commands that have one, by id
 */
public record BatchDecision(List<CommandOutcome> outcomes, long revision, Instant at, List<DomainEvent> events,
                            List<CommandOutcome> recorded, Map<String, String> fingerprints) implements BatchWrite {

    public static BatchDecision decide(List<Command> commands, StoredState state, Instant at) {
        Map<String, CommandOutcome> known = new HashMap<>(state.outcomes());
        Map<String, String> knownFingerprints = new HashMap<>(state.fingerprints());
        Map<String, Long> modRevisions = new HashMap<>(state.modRevisions());
        long revision = state.revision();
        List<CommandOutcome> outcomes = new ArrayList<>(commands.size());
        List<DomainEvent> events = new ArrayList<>();
        List<CommandOutcome> recorded = new ArrayList<>();
        Map<String, String> fingerprints = new HashMap<>();
        for (Command command : commands) {
            CommandOutcome earlier = known.get(command.id());
            if (earlier != null) {
                outcomes.add(Objects.equals(knownFingerprints.get(command.id()), command.fingerprint())
                             ? earlier.asRepeat()
                             : new CommandOutcome(command.id(), CommandOutcome.Status.IDEMPOTENCY_KEY_REUSED, revision));
                continue;
            }
            Long current = modRevisions.get(command.key());
            CommandOutcome outcome;
            if (!command.preconditionHolds(current)) {
                outcome = new CommandOutcome(command.id(), CommandOutcome.Status.PRECONDITION_FAILED, revision);
            } else if (command.isPut()) {
                revision++;
                modRevisions.put(command.key(), revision);
                events.add(DomainEvent.put(command.key(), command.value(), revision, command.id(), at.toString()));
                outcome = new CommandOutcome(command.id(), CommandOutcome.Status.APPLIED, revision);
            } else if (current == null) {
                outcome = new CommandOutcome(command.id(), CommandOutcome.Status.UNCHANGED, revision);
            } else {
                revision++;
                modRevisions.remove(command.key());
                events.add(DomainEvent.deleted(command.key(), revision, command.id(), at.toString()));
                outcome = new CommandOutcome(command.id(), CommandOutcome.Status.APPLIED, revision);
            }
            known.put(command.id(), outcome);
            recorded.add(outcome);
            outcomes.add(outcome);
            if (command.fingerprint() != null) {
                knownFingerprints.put(command.id(), command.fingerprint());
                fingerprints.put(command.id(), command.fingerprint());
            }
        }
        return new BatchDecision(List.copyOf(outcomes), revision, at, List.copyOf(events), List.copyOf(recorded),
                                 Map.copyOf(fingerprints));
    }
}
