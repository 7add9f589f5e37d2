package io.kvstream.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A committed change, as stored and published:
 * {@code {"event":"value_put","key":"k","value":"v","revision":7,"command":"<id>","at":"<ISO-8601>"}}.
 * Deletes have no value. The changes of a transaction carry {@code "txn":"<command id>"} and
 * {@code "txn_end":<the revision of its last change>}: they have consecutive revisions, and a reader that must apply
 * a transaction as one unit knows from any of its events how far to read before applying.
 */
public record DomainEvent(Kind event, String key, String value, long revision, String command, String at,
                          String txn, @JsonProperty("txn_end") Long txnEnd) {
    public enum Kind implements WireName {
        PUT("value_put"),
        DELETED("value_deleted");

        private final String wireName;

        Kind(String wireName) {
            this.wireName = wireName;
        }

        @Override
        @JsonValue
        public String wireName() {
            return wireName;
        }

        @JsonCreator
        public static Kind of(String wireName) {
            return WireName.find(Kind.class, wireName)
                    .orElseThrow(() -> new IllegalArgumentException("Unknown event kind '" + wireName + "'"));
        }
    }

    public DomainEvent(Kind event, String key, String value, long revision, String command, String at) {
        this(event, key, value, revision, command, at, null, null);
    }

    public static DomainEvent put(String key, String value, long revision, String command, String at) {
        return new DomainEvent(Kind.PUT, key, value, revision, command, at);
    }

    public static DomainEvent deleted(String key, long revision, String command, String at) {
        return new DomainEvent(Kind.DELETED, key, null, revision, command, at);
    }

    /** This change as part of the transaction of its command, which ends at revision {@code end}. */
    public DomainEvent inTxn(long end) {
        return new DomainEvent(event, key, value, revision, command, at, command, end);
    }

    /** True for a change of a transaction that is not its last one: more of the same unit follow. */
    public boolean txnContinues() {
        return txnEnd != null && txnEnd > revision;
    }

    public boolean isPut() {
        return event == Kind.PUT;
    }
}
