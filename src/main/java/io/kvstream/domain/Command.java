package io.kvstream.domain;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A write request on its way from an API process to a worker.
 * {@code ifMatch} is the mod revision the key must have ({@code 0}: any, the key must exist);
 * {@code ifNoneMatch} means the key must not exist. {@code fingerprint} is set when the client named the command
 * (an {@code Idempotency-Key}): it stands for the whole request, so that a second command with the same id but
 * another fingerprint is told apart from a retry.
 */
public record Command(String id, Op op, String key, String value, Long ifMatch, Boolean ifNoneMatch,
                      String fingerprint) {
    /** {@code If-Match: *}: the key must exist, whatever its revision (revisions start at 1). */
    public static final long ANY_REVISION = 0L;

    public enum Op implements WireName {
        PUT("put"),
        DELETE("delete");

        private final String wireName;

        Op(String wireName) {
            this.wireName = wireName;
        }

        @Override
        @JsonValue
        public String wireName() {
            return wireName;
        }

        /** The op of that name, or null for a name no worker knows (such a command is not well formed). */
        @JsonCreator
        public static Op of(String wireName) {
            return WireName.find(Op.class, wireName).orElse(null);
        }
    }

    public static Command put(String id, String key, String value, Long ifMatch, boolean ifNoneMatch) {
        return new Command(id, Op.PUT, key, value, ifMatch, ifNoneMatch ? Boolean.TRUE : null, null);
    }

    public static Command delete(String id, String key, Long ifMatch) {
        return new Command(id, Op.DELETE, key, null, ifMatch, null, null);
    }

    /** This command under an id its client chose, with the fingerprint of the request it stands for. */
    public Command idempotent(String id, String fingerprint) {
        return new Command(id, op, key, value, ifMatch, ifNoneMatch, fingerprint);
    }

    public boolean isPut() {
        return op == Op.PUT;
    }

    public boolean requiresAbsent() {
        return Boolean.TRUE.equals(ifNoneMatch);
    }

    /** Whether the key's current mod revision ({@code null}: absent) allows this command. */
    public boolean preconditionHolds(Long current) {
        if (requiresAbsent() && current != null) {
            return false;
        }
        if (ifMatch == null) {
            return true;
        }
        return ifMatch == ANY_REVISION ? current != null : ifMatch.equals(current);
    }

    /** Commands that cannot be applied by anyone are rejected, never retried. */
    public boolean wellFormed() {
        return id != null && !id.isBlank() && key != null && !key.isEmpty()
               && (op == Op.PUT && value != null || op == Op.DELETE);
    }
}
