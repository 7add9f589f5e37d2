package io.kvstream.command;

/**
 * A write request on its way from an API process to a worker (JSON on the durable command queue).
 * {@code ifMatch} is the mod revision the key must have; {@code ifNoneMatch} means the key must not exist.
 */
public record Command(String id, String op, String key, String value, Long ifMatch, Boolean ifNoneMatch) {
    public static final String PUT = "put";
    public static final String DELETE = "delete";

    public static Command put(String id, String key, String value, Long ifMatch, boolean ifNoneMatch) {
        return new Command(id, PUT, key, value, ifMatch, ifNoneMatch ? Boolean.TRUE : null);
    }

    public static Command delete(String id, String key, Long ifMatch) {
        return new Command(id, DELETE, key, null, ifMatch, null);
    }

    public boolean isPut() {
        return PUT.equals(op);
    }

    public boolean requiresAbsent() {
        return Boolean.TRUE.equals(ifNoneMatch);
    }

    /** Commands that cannot be applied by anyone are rejected, never retried. */
    public boolean wellFormed() {
        return id != null && !id.isBlank() && key != null && !key.isEmpty()
               && (PUT.equals(op) && value != null || DELETE.equals(op));
    }
}
