package io.kvstream.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A committed change, as stored and published:
 * {@code {"event":"value_put","key":"k","value":"v","revision":7,"command":"<id>","at":"<ISO-8601>"}}.
 * Deletes have no value.
 */
public record DomainEvent(Kind event, String key, String value, long revision, String command, String at) {
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

    public static DomainEvent put(String key, String value, long revision, String command, String at) {
        return new DomainEvent(Kind.PUT, key, value, revision, command, at);
    }

    public static DomainEvent deleted(String key, long revision, String command, String at) {
        return new DomainEvent(Kind.DELETED, key, null, revision, command, at);
    }

    public boolean isPut() {
        return event == Kind.PUT;
    }
}
