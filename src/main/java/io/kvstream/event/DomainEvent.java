package io.kvstream.event;

/**
 * A committed change, as stored in {@code kv_events} and published on the events exchange:
 * {@code {"event":"value_put","key":"k","value":"v","revision":7,"command":"<id>","at":"<ISO-8601>"}}.
 * Deletes have no value.
 */
public record DomainEvent(String event, String key, String value, long revision, String command, String at) {
    public static final String PUT = "value_put";
    public static final String DELETED = "value_deleted";

    public static DomainEvent put(String key, String value, long revision, String command, String at) {
        return new DomainEvent(PUT, key, value, revision, command, at);
    }

    public static DomainEvent deleted(String key, long revision, String command, String at) {
        return new DomainEvent(DELETED, key, null, revision, command, at);
    }

    public boolean isPut() {
        return PUT.equals(event);
    }
}
