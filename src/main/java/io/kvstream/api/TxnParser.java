package io.kvstream.api;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.kvstream.domain.Keys;
import io.kvstream.domain.Command;
import io.kvstream.domain.Txn;
import io.kvstream.wire.Json;

/**
 * Reads the body of {@code POST /txn} strictly: any shape other than the documented one is a 400 {@code bad_txn}
 * whose message names the offending place, e.g. {@code success[3]: a put needs a string value}.
 */
final class TxnParser {
    private static final Set<String> FIELDS = Set.of("compare", "success", "failure");
    private static final int OVERHEAD_BYTES = 64 * 1024;

    private final int maxValueBytes;
    private final int maxBodyBytes;

    TxnParser(int maxValueBytes) {
        this.maxValueBytes = maxValueBytes;
        this.maxBodyBytes = maxBodyBytes(maxValueBytes);
    }

    /** Two values of the largest size, and room for 128 compares and ops of the longest keys around them. */
    static int maxBodyBytes(int maxValueBytes) {
        return (int) Math.min(Integer.MAX_VALUE - 8, 2L * maxValueBytes + OVERHEAD_BYTES);
    }

    Txn txn(ServerRequest req, BodyBudget.Share share) {
        byte[] body = RequestParser.body(req, share, maxBodyBytes, maxBodyBytes, "txn_too_large",
                                         "A transaction body is at most " + maxBodyBytes + " bytes");
        JsonNode root;
        try {
            root = Json.readStrict(body, JsonNode.class);
        } catch (IllegalArgumentException e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            throw bad("The body must be one JSON object {\"compare\":[...],\"success\":[...],\"failure\":[...]},"
                      + " with no member named twice and nothing after it");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw bad("Unknown field '" + name + "'; a transaction has compare, success and failure");
            }
        }
        List<Txn.Compare> compares = list(root, "compare", this::compare);
        onceEach(compares.stream().map(Txn.Compare::key).toList(), "compare", "compared");
        return new Txn(compares, changes(root, "success"), changes(root, "failure"));
    }

    private List<Txn.Change> changes(JsonNode root, String field) {
        List<Txn.Change> changes = list(root, field, this::change);
        onceEach(changes.stream().map(Txn.Change::key).toList(), field, "changed");
        return changes;
    }

    /** Each key at most once in a list: two compares of one key could only contradict or repeat each other. */
    private static void onceEach(List<String> keys, String field, String done) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            Integer first = seen.putIfAbsent(keys.get(i), i);
            if (first != null) {
                throw bad(field + "[" + i + "]: key '" + keys.get(i) + "' is already " + done + " by " + field + "["
                          + first + "]; each key at most once");
            }
        }
    }

    /** The field's array (absent or null: empty), at most {@link Txn#MAX_OPS} items, each read by {@code item}. */
    private static <T> List<T> list(JsonNode root, String field, BiFunction<JsonNode, String, T> item) {
        JsonNode array = root.get(field);
        if (array == null || array.isNull()) {
            return List.of();
        }
        if (!array.isArray()) {
            throw bad(field + ": must be an array");
        }
        if (array.size() > Txn.MAX_OPS) {
            throw bad(field + ": at most " + Txn.MAX_OPS + " items, not " + array.size());
        }
        List<T> items = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            String where = field + "[" + i + "]";
            JsonNode node = array.get(i);
            if (!node.isObject()) {
                throw bad(where + ": must be an object");
            }
            items.add(item.apply(node, where));
        }
        return List.copyOf(items);
    }

    private Txn.Compare compare(JsonNode node, String where) {
        only(node, where, Set.of("key", "revision"));
        JsonNode revision = node.get("revision");
        if (revision == null || !revision.isIntegralNumber() || !revision.canConvertToLong() || revision.asLong() < 0) {
            throw bad(where + ": revision must be an integer, 0 or more (0: the key is absent)");
        }
        return new Txn.Compare(key(node, where), revision.asLong());
    }

    private Txn.Change change(JsonNode node, String where) {
        only(node, where, Set.of("op", "key", "value"));
        JsonNode op = node.get("op");
        Command.Op parsed = op != null && op.isTextual() ? Command.Op.of(op.asText()) : null;
        if (parsed != Command.Op.PUT && parsed != Command.Op.DELETE) {
            throw bad(where + ": op must be \"put\" or \"delete\"");
        }
        String key = key(node, where);
        JsonNode value = node.get("value");
        if (parsed == Command.Op.DELETE) {
            if (value != null) {
                throw bad(where + ": a delete has no value");
            }
            return new Txn.Change(parsed, key, null);
        }
        if (value == null || !value.isTextual()) {
            throw bad(where + ": a put needs a string value");
        }
        String text = value.asText();
        if (!StandardCharsets.UTF_8.newEncoder().canEncode(text)) {
            throw bad(where + ": the value is not valid UTF-8");
        }
        if (text.indexOf('\0') >= 0) {
            throw bad(where + ": a value cannot contain NUL");
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > maxValueBytes) {
            throw bad(where + ": a value is at most " + maxValueBytes + " bytes");
        }
        return new Txn.Change(parsed, key, text);
    }

    private static String key(JsonNode node, String where) {
        JsonNode key = node.get("key");
        if (key == null || !key.isTextual()) {
            throw bad(where + ": key must be a string");
        }
        String problem = Keys.problem(key.asText());
        if (problem != null) {
            throw bad(where + ": " + problem);
        }
        return key.asText();
    }

    private static void only(JsonNode node, String where, Set<String> fields) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!fields.contains(name)) {
                throw bad(where + ": unknown field '" + name + "'");
            }
        }
    }

    private static ApiException bad(String message) {
        return new ApiException(Status.BAD_REQUEST_400, "bad_txn", message);
    }
}
