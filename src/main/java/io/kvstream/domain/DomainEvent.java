package io.kvstream.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A committed change, as stored and published:
 * {@code {"event":"value_put","key":"k","value":"v","revision":7,"command":"<id>","at":"<ISO-8601>"}}.
 * Deletes have no value. The changes of a transaction carry {@code "txn":"<command id>"} and
 * {@code "txn_end":<the revision of its last change>}: they have consecutive revisions, and a reader that must apply
 * a transaction as one unit knows from any of its events how far to read before applying. A put with a time to live
 * carries its deadline, {@code "expires":"<ISO-8601>"}; the delete that ends it there carries {@code "expired":true}.
 */
public record DomainEvent(Kind event, String key, String value, long revision, String command, String at,
                          String txn, @JsonProperty("txn_end") Long txnEnd, String expires, Boolean expired) {
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
        this(event, key, value, revision, command, at, null, null, null, null);
    }

    public DomainEvent(Kind event, String key, String value, long revision, String command, String at, String txn,
                       Long txnEnd) {
        this(event, key, value, revision, command, at, txn, txnEnd, null, null);
    }

    public static DomainEvent put(String key, String value, long revision, String command, String at) {
        return new DomainEvent(Kind.PUT, key, value, revision, command, at);
    }

    /** A put that expires at {@code expires} ({@code null}: never). */
    public static DomainEvent put(String key, String value, long revision, String command, String at,
                                  String expires) {
        return new DomainEvent(Kind.PUT, key, value, revision, command, at, null, null, expires, null);
    }

    public static DomainEvent deleted(String key, long revision, String command, String at) {
        return new DomainEvent(Kind.DELETED, key, null, revision, command, at);
    }

    /** The delete of a key whose time to live has run out. */
    public static DomainEvent expired(String key, long revision, String command, String at) {
        return new DomainEvent(Kind.DELETED, key, null, revision, command, at, null, null, null, Boolean.TRUE);
    }

    /** This change as part of the transaction of its command, which ends at revision {@code end}. */
    public DomainEvent inTxn(long end) {
        return new DomainEvent(event, key, value, revision, command, at, command, end, expires, expired);
    }

    /** True for a change of a transaction that is not its last one: more of the same unit follow. */
    public boolean txnContinues() {
        return txnEnd != null && txnEnd > revision;
    }

    /** True for the delete of a key whose time to live ran out. */
    public boolean isExpiry() {
        return Boolean.TRUE.equals(expired);
    }

    public boolean isPut() {
        return event == Kind.PUT;
    }
}
