package io.kvstream.storage;

/** The schema lacks migrations this build needs, and this process may not run them. */
public final class SchemaNotCurrentException extends RuntimeException {
    SchemaNotCurrentException(String message) {
        super(message);
    }
}
