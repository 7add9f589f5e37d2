package io.kvstream.domain;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What became of a command. {@code revision} is the new revision for {@link Status#APPLIED}, else the revision the
 * decision was taken at. {@code repeat}: this is the outcome of a command decided before, given again (no new event
 * announces it, so its sender must be told by a reply); the worker's own mark, not sent: a reply is the same either way.
 * {@code txn}: what a transaction did (see {@link TxnResult}), null for single-key commands.
 */
public record CommandOutcome(String command, Status status, long revision, TxnResult txn, @JsonIgnore boolean repeat) {
    public CommandOutcome(String command, Status status, long revision) {
        this(command, status, revision, null, false);
    }

    public CommandOutcome(String command, Status status, long revision, boolean repeat) {
        this(command, status, revision, null, repeat);
    }

    /**
     * What a transaction did: whether its compares held, and per change of the branch taken, in order, the revision
     * it took ({@code 0}: a delete of a key that did not exist, which changes nothing). Set only for transactions;
     * {@code revision} is then the revision after the transaction (that it was decided at, if nothing changed).
     */
    public record TxnResult(boolean succeeded, List<Long> revisions) {
    }

    public enum Status implements WireName {
        APPLIED("applied"),
        /** A delete of a key that does not exist: nothing changed. */
        UNCHANGED("unchanged"),
        PRECONDITION_FAILED("precondition_failed"),
        /** The command can never be stored (the database refused it). */
        REJECTED("rejected"),
        /** The command's id (from an {@code Idempotency-Key}) was decided before for another request: nothing changed. */
        IDEMPOTENCY_KEY_REUSED("idempotency_key_reused");

        private final String wireName;

        Status(String wireName) {
            this.wireName = wireName;
        }

        @Override
        @JsonValue
        public String wireName() {
            return wireName;
        }

        @JsonCreator
        public static Status of(String wireName) {
            return WireName.find(Status.class, wireName)
                    .orElseThrow(() -> new IllegalArgumentException("Unknown command status '" + wireName + "'"));
        }
    }

    public boolean applied() {
        return status == Status.APPLIED;
    }

    /**
     * Whether the command's own domain event tells its sender this outcome: an applied single-key change does, unless
     * it repeats an earlier outcome (no new event announces it) or is a transaction's (its events do not say which
     * branch it took). Every other outcome needs an answer of its own.
     */
    public boolean announcedByEvent() {
        return applied() && !repeat && txn == null;
    }

    /** The same outcome, given again to a command decided before. */
    public CommandOutcome asRepeat() {
        return new CommandOutcome(command, status, revision, txn, true);
    }
}
