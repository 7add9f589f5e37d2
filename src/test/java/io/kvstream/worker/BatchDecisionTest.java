package io.kvstream.worker;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome.Status;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Txn;
import io.kvstream.storage.StoredState;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** The worker's decisions for a batch, without a server: preconditions, idempotency, revision numbering. */
class BatchDecisionTest {
    private static final Instant AT = Instant.parse("2026-11-29T10:00:00.123456Z");

    private static BatchDecision decide(StoredState state, Command... commands) {
        return BatchDecision.decide(List.of(commands), state, AT);
    }

    /** Command idem-1 (request fingerprint fp-a) applied at revision 4; the key was written again at 8. */
    private static final StoredState IDEM_1_APPLIED_AT_4 = new StoredState(
            9, Map.of("idem-1", new CommandOutcome("idem-1", Status.APPLIED, 4)), Map.of("a", 8L), Map.of("idem-1", "fp-a"));

    private static StoredState at(long revision, Map<String, Long> modRevisions) {
        return new StoredState(revision, Map.of(), modRevisions);
    }

    @Test
    void changesTakeConsecutiveRevisionsInCommandOrder() {
        BatchDecision batch = decide(at(7, Map.of("b", 3L)),
                                     Command.put("c1", "a", "1", null, false),
                                     Command.delete("c2", "b", null),
                                     Command.put("c3", "a", "2", null, false));

        assertThat(batch.revision(), is(10L));
        assertThat(batch.events(), is(List.of(DomainEvent.put("a", "1", 8, "c1", AT.toString()),
                                              DomainEvent.deleted("b", 9, "c2", AT.toString()),
                                              DomainEvent.put("a", "2", 10, "c3", AT.toString()))));
        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("c1", Status.APPLIED, 8),
                                                new CommandOutcome("c2", Status.APPLIED, 9),
                                                new CommandOutcome("c3", Status.APPLIED, 10))));
        assertThat(batch.recorded(), is(batch.outcomes()));
        assertThat(batch.at(), is(AT));
    }

    @Test
    void aPutWithTtlExpiresThatLongAfterTheCommitAndOneWithoutIsPermanent() {
        BatchDecision batch = decide(at(7, Map.of()),
                                     Command.put("c1", "a", "1", null, false).expiringAfter(30),
                                     Command.put("c2", "b", "2", null, false));

        assertThat(batch.events(), is(List.of(DomainEvent.put("a", "1", 8, "c1", AT.toString(),
                                                              "2026-11-29T10:00:30.123456Z"),
                                              DomainEvent.put("b", "2", 9, "c2", AT.toString()))));
        assertThat(batch.events().get(1).expires(), is((String) null));
    }

    @Test
    void expiryDeletesTheDueKeysWithConsecutiveRevisionsMarkedExpiredAndRecordsNoOutcome() {
        BatchDecision batch = BatchDecision.expire(List.of("a", "b"), 7, AT, "expiry-1");

        assertThat(batch.revision(), is(9L));
        assertThat(batch.events(), is(List.of(DomainEvent.expired("a", 8, "expiry-1", AT.toString()),
                                              DomainEvent.expired("b", 9, "expiry-1", AT.toString()))));
        assertThat(batch.events().stream().allMatch(e -> !e.isPut() && e.isExpiry()), is(true));
        assertThat(batch.outcomes(), is(List.of()));
        assertThat(batch.recorded(), is(List.of()));
    }

    @Test
    void aCommandCommittedBeforeGetsItsFirstOutcomeAndChangesNothing() {
        CommandOutcome earlier = new CommandOutcome("c1", Status.APPLIED, 4);
        BatchDecision batch = decide(new StoredState(7, Map.of("c1", earlier), Map.of()),
                                     Command.put("c1", "a", "again", null, false));

        assertThat(batch.outcomes(), is(List.of(earlier.asRepeat())));
        assertThat(batch.outcomes().getFirst().repeat(), is(true));
        assertThat(batch.events(), is(List.of()));
        assertThat(batch.recorded(), is(List.of()));
        assertThat(batch.revision(), is(7L));
    }

    @Test
    void theSameCommandTwiceInOneBatchAppliesOnce() {
        Command put = Command.put("c1", "a", "1", null, false);
        BatchDecision batch = decide(at(0, Map.of()), put, put);

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("c1", Status.APPLIED, 1),
                                                new CommandOutcome("c1", Status.APPLIED, 1, true))));
        assertThat(batch.events().size(), is(1));
        assertThat(batch.recorded().size(), is(1));
    }

    @Test
    void ifMatchComparesTheModRevisionSeenAfterEarlierCommandsOfTheBatch() {
        BatchDecision batch = decide(at(5, Map.of("a", 5L)),
                                     Command.put("stale", "a", "x", 4L, false),
                                     Command.put("fresh", "a", "y", 5L, false),
                                     Command.put("next", "a", "z", 6L, false));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("stale", Status.PRECONDITION_FAILED, 5),
                                                new CommandOutcome("fresh", Status.APPLIED, 6),
                                                new CommandOutcome("next", Status.APPLIED, 7))));
    }

    @Test
    void ifMatchAnyNeedsTheKeyAndIfNoneMatchNeedsItAbsent() {
        BatchDecision batch = decide(at(2, Map.of("present", 2L)),
                                     Command.put("any-missing", "absent", "x", Command.ANY_REVISION, false),
                                     Command.put("any-present", "present", "x", Command.ANY_REVISION, false),
                                     Command.put("create-taken", "present", "y", null, true),
                                     Command.delete("drop", "present", null),
                                     Command.put("create-freed", "present", "z", null, true));

        assertThat(batch.outcomes().stream().map(CommandOutcome::status).toList(),
                   is(List.of(Status.PRECONDITION_FAILED, Status.APPLIED, Status.PRECONDITION_FAILED,
                              Status.APPLIED, Status.APPLIED)));
        assertThat(batch.revision(), is(5L));
    }

    @Test
    void deletingAMissingKeyChangesNothingButIsRemembered() {
        BatchDecision batch = decide(at(3, Map.of()), Command.delete("c1", "gone", null));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("c1", Status.UNCHANGED, 3))));
        assertThat(batch.events(), is(List.of()));
        assertThat(batch.recorded(), is(batch.outcomes()));
        assertThat(batch.revision(), is(3L));
    }

    @Test
    void anIdempotentCommandRecordsItsFingerprintWithItsOutcome() {
        BatchDecision batch = decide(at(3, Map.of()),
                                     Command.put("idem-1", "a", "1", null, true).idempotent("idem-1", "fp-a"),
                                     Command.put("plain", "b", "2", null, false));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("idem-1", Status.APPLIED, 4),
                                                new CommandOutcome("plain", Status.APPLIED, 5))));
        assertThat(batch.fingerprints(), is(Map.of("idem-1", "fp-a")));
    }

    @Test
    void aRetryWithTheSameKeyAndRequestGetsTheFirstOutcomeMarkedAsARepeat() {
        BatchDecision batch = decide(IDEM_1_APPLIED_AT_4,
                                     Command.put("idem-1", "a", "1", null, true).idempotent("idem-1", "fp-a"));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("idem-1", Status.APPLIED, 4, true))));
        assertThat(batch.events(), is(List.of()));
        assertThat(batch.recorded(), is(List.of()));
        assertThat(batch.fingerprints(), is(Map.of()));
        assertThat(batch.revision(), is(9L));
    }

    @Test
    void theSameKeyWithAnotherRequestIsRefusedAndChangesNothing() {
        BatchDecision batch = decide(IDEM_1_APPLIED_AT_4,
                                     Command.put("idem-1", "a", "other", null, false).idempotent("idem-1", "fp-b"));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("idem-1", Status.IDEMPOTENCY_KEY_REUSED, 9))));
        assertThat(batch.events(), is(List.of()));
        assertThat(batch.recorded(), is(List.of()));
        assertThat(batch.revision(), is(9L));
    }

    @Test
    void theSameKeyWithAnotherRequestInTheSameBatchIsRefused() {
        BatchDecision batch = decide(at(0, Map.of()),
                                     Command.put("idem-1", "a", "1", null, false).idempotent("idem-1", "fp-a"),
                                     Command.delete("idem-1", "a", null).idempotent("idem-1", "fp-b"),
                                     Command.put("idem-1", "a", "1", null, false).idempotent("idem-1", "fp-a"));

        assertThat(batch.outcomes(), is(List.of(new CommandOutcome("idem-1", Status.APPLIED, 1),
                                                new CommandOutcome("idem-1", Status.IDEMPOTENCY_KEY_REUSED, 1),
                                                new CommandOutcome("idem-1", Status.APPLIED, 1, true))));
        assertThat(batch.events().size(), is(1));
        assertThat(batch.fingerprints(), is(Map.of("idem-1", "fp-a")));
    }

    private static Txn.Change put(String key, String value) {
        return new Txn.Change(Command.Op.PUT, key, value);
    }

    private static Txn.Change delete(String key) {
        return new Txn.Change(Command.Op.DELETE, key, null);
    }

    @Test
    void aTransactionWhoseComparesHoldAppliesItsSuccessChangesWithConsecutiveRevisions() {
        Txn txn = new Txn(List.of(new Txn.Compare("a", 3), new Txn.Compare("b", 0)),
                          List.of(put("a", "1"), delete("c"), put("b", "2"), delete("x")), List.of(put("a", "no")));
        BatchDecision batch = decide(at(7, Map.of("a", 3L, "c", 5L)), Command.txn("t1", txn));

        assertThat(batch.revision(), is(10L));
        assertThat(batch.events(), is(List.of(DomainEvent.put("a", "1", 8, "t1", AT.toString()).inTxn(10),
                                              DomainEvent.deleted("c", 9, "t1", AT.toString()).inTxn(10),
                                              DomainEvent.put("b", "2", 10, "t1", AT.toString()).inTxn(10))));
        assertThat(batch.events().getFirst().txn(), is("t1"));
        assertThat(batch.outcomes(), is(List.of(new CommandOutcome(
                "t1", Status.APPLIED, 10, new CommandOutcome.TxnResult(true, List.of(8L, 9L, 10L, 0L)), false))));
        assertThat(batch.recorded(), is(batch.outcomes()));
    }

    @Test
    void aTransactionWhoseCompareFailsAppliesItsFailureChanges() {
        Txn txn = new Txn(List.of(new Txn.Compare("a", 2)), List.of(put("a", "yes")), List.of(put("b", "no")));
        BatchDecision batch = decide(at(7, Map.of("a", 3L)), Command.txn("t1", txn));

        assertThat(batch.events(), is(List.of(DomainEvent.put("b", "no", 8, "t1", AT.toString()).inTxn(8))));
        assertThat(batch.outcomes().getFirst().txn(), is(new CommandOutcome.TxnResult(false, List.of(8L))));
    }

    @Test
    void aTransactionThatChangesNothingIsUnchangedAtTheRevisionItWasDecidedAt() {
        Txn txn = new Txn(List.of(new Txn.Compare("a", 0)), List.of(delete("a")), List.of());
        BatchDecision batch = decide(at(7, Map.of()), Command.txn("t1", txn));

        assertThat(batch.events(), is(List.of()));
        assertThat(batch.revision(), is(7L));
        assertThat(batch.outcomes(), is(List.of(new CommandOutcome(
                "t1", Status.UNCHANGED, 7, new CommandOutcome.TxnResult(true, List.of(0L)), false))));
    }

    @Test
    void aTransactionComparesAgainstTheEarlierCommandsOfItsBatch() {
        Txn ifStillAbsent = new Txn(List.of(new Txn.Compare("a", 0)), List.of(put("a", "txn")), List.of());
        Txn ifWrittenAt8 = new Txn(List.of(new Txn.Compare("a", 8)), List.of(delete("a")), List.of());
        BatchDecision batch = decide(at(7, Map.of()), Command.put("c1", "a", "1", null, false),
                                     Command.txn("t1", ifStillAbsent), Command.txn("t2", ifWrittenAt8),
                                     Command.put("c3", "a", "2", null, true));

        assertThat(batch.outcomes(), is(List.of(
                new CommandOutcome("c1", Status.APPLIED, 8),
                new CommandOutcome("t1", Status.UNCHANGED, 8, new CommandOutcome.TxnResult(false, List.of()), false),
                new CommandOutcome("t2", Status.APPLIED, 9, new CommandOutcome.TxnResult(true, List.of(9L)), false),
                new CommandOutcome("c3", Status.APPLIED, 10))));
        assertThat(batch.events().get(1), is(DomainEvent.deleted("a", 9, "t2", AT.toString()).inTxn(9)));
        assertThat(batch.events().get(2).txn(), is((String) null));
    }

    @Test
    void aRedeliveredTransactionGetsItsFirstResultAndChangesNothing() {
        CommandOutcome earlier = new CommandOutcome("t1", Status.APPLIED, 4,
                                                    new CommandOutcome.TxnResult(true, List.of(3L, 4L)), false);
        Txn txn = new Txn(List.of(), List.of(put("a", "1"), put("b", "2")), List.of());
        BatchDecision batch = decide(new StoredState(9, Map.of("t1", earlier), Map.of("a", 3L, "b", 4L)),
                                     Command.txn("t1", txn));

        assertThat(batch.outcomes(), is(List.of(earlier.asRepeat())));
        assertThat(batch.outcomes().getFirst().txn(), is(earlier.txn()));
        assertThat(batch.events(), is(List.of()));
        assertThat(batch.recorded(), is(List.of()));
    }
}
