package io.kvstream.storage;

/** A statement failed: the database is unreachable, or refused it. Callers above storage never see SQL types. */
public final class StorageException extends RuntimeException {
    StorageException(String message, Throwable cause) {
        super(message + ": " + cause.getMessage(), cause);
    }
}
