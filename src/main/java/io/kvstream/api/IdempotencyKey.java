package io.kvstream.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.kvstream.domain.Command;
import io.kvstream.wire.Json;

/**
 * The {@code Idempotency-Key} request header of PUT, DELETE and POST /txn (IETF httpapi idempotency-key draft): a client that
 * retries a write with the same key gets the first outcome instead of a second write.
 * <p>
 * The key becomes the command id ({@code idem-} + SHA-256 of the key), so the worker's record of committed command
 * ids, kept as long as the events, makes a retry a no-op that answers the first outcome. The command also carries a
 * fingerprint of the request (method, key, body, preconditions): the same id with another fingerprint is the key
 * reused for another request, which the worker refuses (422).
 * <pre>
 * curl -X PUT -H 'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"' localhost:8080/values/k -d v
 * </pre>
 */
final class IdempotencyKey {
    static final HeaderName HEADER = HeaderNames.create("Idempotency-Key");
    static final int MAX_LENGTH = 255;
    private static final String ID_PREFIX = "idem-";

    private IdempotencyKey() {
    }

    /** The command as the request's key names it, or unchanged without the header; a malformed key is a 400. */
    static Command apply(ServerRequest req, Command command) {
        if (!req.headers().contains(HEADER)) {
            return command;
        }
        List<String> values = req.headers().values(HEADER);
        if (values.size() != 1) {
            throw malformed("Send one Idempotency-Key");
        }
        String key = parse(values.getFirst());
        return command.idempotent(ID_PREFIX + sha256(key.getBytes(StandardCharsets.US_ASCII)), fingerprint(command));
    }

    /**
     * The key: a Structured Field string ({@code "..."}, as the draft writes it) or the same characters bare;
     * 1 to 255 visible ASCII characters either way.
     */
    static String parse(String header) {
        String key = header;
        if (header.startsWith("\"")) {
            if (header.length() < 2 || !header.endsWith("\"")) {
                throw malformed("Unterminated quoted Idempotency-Key");
            }
            StringBuilder unquoted = new StringBuilder(header.length());
            for (int i = 1; i < header.length() - 1; i++) {
                char c = header.charAt(i);
                if (c == '\\' && i + 1 < header.length() - 1
                    && (header.charAt(i + 1) == '"' || header.charAt(i + 1) == '\\')) {
                    c = header.charAt(++i);
                } else if (c == '"' || c == '\\') {
                    throw malformed("Bad escape in the quoted Idempotency-Key");
                }
                unquoted.append(c);
            }
            key = unquoted.toString();
        }
        if (key.isEmpty() || key.length() > MAX_LENGTH) {
            throw malformed("The Idempotency-Key must be 1 to " + MAX_LENGTH + " characters");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw malformed("The Idempotency-Key must be visible ASCII characters");
            }
        }
        return key;
    }

    /**
     * What identifies the request: method, key, preconditions, body and time to live (of a transaction: all of it), each
     * length-prefixed so that no two requests share an encoding.
     */
    static String fingerprint(Command command) {
        MessageDigest digest = sha256();
        String[] fields = command.holdsTxn()
                          ? new String[] {command.op().wireName(), Json.writeString(command.txn())}
                          : command.ttl() == null
                          ? new String[] {command.op().wireName(), command.key(), String.valueOf(command.ifMatch()),
                                          String.valueOf(command.requiresAbsent()), command.value()}
                          // A time to live adds a field; without one the fingerprint is what it was before.
                          : new String[] {command.op().wireName(), command.key(), String.valueOf(command.ifMatch()),
                                          String.valueOf(command.requiresAbsent()), command.value(),
                                          "ttl=" + command.ttl()};
        for (String field : fields) {
            byte[] bytes = field == null ? new byte[0] : field.getBytes(StandardCharsets.UTF_8);
            digest.update((field == null ? "-" : bytes.length + ":").getBytes(StandardCharsets.US_ASCII));
            digest.update(bytes);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every JDK has SHA-256", e);
        }
    }

    private static ApiException malformed(String message) {
        return new ApiException(Status.BAD_REQUEST_400, "bad_idempotency_key", message);
    }
}
