package io.kvstream.domain;

/** A stored value and the revision that last changed it (its ETag). */
public record Entry(String value, long modRevision) {
}
