package io.kvstream.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What became of a command. {@code revision} is the new revision for {@link Status#APPLIED}, else the revision the
 * decision was taken at.
 */
public record CommandOutcome(String command, Status status, long revision) {
    public enum Status implements WireName {
        APPLIED("applied"),
        /** A delete of a key that does not exist: nothing changed. */
        UNCHANGED("unchanged"),
        PRECONDITION_FAILED("precondition_failed"),
        /** The command can never be stored (the database refused it). */
        REJECTED("rejected");

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
}
