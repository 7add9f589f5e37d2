package io.kvstream.domain;

import java.util.stream.Stream;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A write request on its way from an API process to a worker.
 * {@code ifMatch} is the mod revision the key must have ({@code 0}: any, the key must exist);
 * {@code ifNoneMatch} means the key must not exist. {@code fingerprint} is set when the client named the command
 * (an {@code Idempotency-Key}): it stands for the whole request, so that a second command with the same id but
 * another fingerprint is told apart from a retry. A transaction ({@link Op#TXN}) has no key, value or precondition of its
 * own: its {@code txn} names them; single-key commands have no {@code txn} (and keep their wire format). A put with
 * {@code ttl} (seconds) stores a value that expires that long after its commit; one without makes the key permanent.
 */
public record Command(String id, Op op, String key, String value, Long ifMatch, Boolean ifNoneMatch,
                      String fingerprint, Txn txn, Long ttl) {
    /** The longest time to live a put may ask for: a year, in seconds. */
    public static final long MAX_TTL = 31_536_000L;
    /** {@code If-Match: *}: the key must exist, whatever its revision (revisions start at 1). */
    public static final long ANY_REVISION = 0L;

    public enum Op implements WireName {
        PUT("put"),
        DELETE("delete"),
        TXN("txn");

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

    public Command(String id, Op op, String key, String value, Long ifMatch, Boolean ifNoneMatch,
                   String fingerprint) {
        this(id, op, key, value, ifMatch, ifNoneMatch, fingerprint, null, null);
    }

    public Command(String id, Op op, String key, String value, Long ifMatch, Boolean ifNoneMatch,
                   String fingerprint, Txn txn) {
        this(id, op, key, value, ifMatch, ifNoneMatch, fingerprint, txn, null);
    }

    public static Command put(String id, String key, String value, Long ifMatch, boolean ifNoneMatch) {
        return new Command(id, Op.PUT, key, value, ifMatch, ifNoneMatch ? Boolean.TRUE : null, null);
    }

    /** A put whose value expires {@code ttl} seconds after its commit. */
    public Command expiringAfter(long ttl) {
        return new Command(id, op, key, value, ifMatch, ifNoneMatch, fingerprint, txn, ttl);
    }

    public static Command delete(String id, String key, Long ifMatch) {
        return new Command(id, Op.DELETE, key, null, ifMatch, null, null);
    }

    public static Command txn(String id, Txn txn) {
        return new Command(id, Op.TXN, null, null, null, null, null, txn);
    }

    /** This command under an id its client chose, with the fingerprint of the request it stands for. */
    public Command idempotent(String id, String fingerprint) {
        return new Command(id, op, key, value, ifMatch, ifNoneMatch, fingerprint, txn, ttl);
    }

    public boolean holdsTxn() {
        return op == Op.TXN;
    }

    /** Every key the command reads or writes. */
    public Stream<String> keys() {
        return holdsTxn() ? txn.keys() : Stream.of(key);
    }

    /** Characters of its keys and values: what the command weighs in a message. */
    public int chars() {
        return holdsTxn() ? txn.chars() : key.length() + (value == null ? 0 : value.length());
    }

    public boolean isPut() {
        return op == Op.PUT;
    }

    public boolean requiresAbsent() {
        return Boolean.TRUE.equals(ifNoneMatch);
    }

    /**
     * Whether what the command does depends on the stored state of its keys: a delete (of a key that may be missing),
     * a command with a precondition, a transaction. An unconditional put does not: it always takes the next revision.
     */
    public boolean readsStoredKeys() {
        return !isPut() || ifMatch != null || requiresAbsent();
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
        if (id == null || id.isBlank()) {
            return false;
        }
        if (op == Op.TXN) {
            return key == null && value == null && ifMatch == null && ifNoneMatch == null && txn != null
                   && txn.wellFormed();
        }
        return txn == null && key != null && !key.isEmpty() && (op == Op.PUT && value != null || op == Op.DELETE)
               && (ttl == null || op == Op.PUT && ttl >= 1 && ttl <= MAX_TTL);
    }
}
