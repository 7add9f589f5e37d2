package io.kvstream.domain;

import java.time.Instant;

/**
 * A stored value and the revision that last changed it (its ETag); {@code expires} is the deadline of a value with
 * a time to live ({@code null}: permanent). From the deadline on the value is gone for readers, whether or not the
 * delete that ends it has arrived yet.
 */
public record Entry(String value, long modRevision, Instant expires) {
    public Entry(String value, long modRevision) {
        this(value, modRevision, null);
    }

    /** True once {@code now} has reached the deadline. */
    public boolean expiredAt(Instant now) {
        return expires != null && !now.isBefore(expires);
    }
}
