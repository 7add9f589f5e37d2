package io.kvstream.api;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.kvstream.auth.Authenticator;
import io.kvstream.command.CommandBus;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.Entry;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;
import io.kvstream.replica.Replica;
import io.kvstream.storage.History;
import io.kvstream.wire.Json;

/**
 * The key/value resource. Reads come from this process's replica; writes go to the worker as commands and,
 * unless the client prefers an asynchronous answer, are answered once committed and applied here.
 * <pre>
 * curl -X PUT localhost:8080/values/mykey -d 'myvalue'
 * curl localhost:8080/values/mykey
 * curl -X PUT -H 'If-Match: "1"' localhost:8080/values/mykey -d 'next'
 * curl 'localhost:8080/values?prefix=my&amp;limit=10'
 * curl -X DELETE localhost:8080/values/mykey
 * curl -X PUT -H 'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"' localhost:8080/values/mykey -d 'once'
 * curl -X PUT 'localhost:8080/values/session?ttl=30' -d 'expires in 30 s'
 * </pre>
 * A PUT or DELETE with an {@code Idempotency-Key} is retried safely: the same request with the same key gets the
 * first answer (see {@link IdempotencyKey}).
 */
public final class ValuesService implements HttpService {
    /** How long a 412 waits for this replica to hold the state it was decided on, to name the current ETag. */
    private static final Duration PRECONDITION_STATE_WAIT = Duration.ofSeconds(1);
    /** Answers at most this large are sent without a share of the body budget. */
    private static final int UNBUDGETED_ANSWER_BYTES = 64 * 1024;
    /** An HTTP-date (RFC 9110 §5.6.7, IMF-fixdate). */
    private static final DateTimeFormatter HTTP_DATE =
            DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.ENGLISH).withZone(ZoneOffset.UTC);

    private final Replica replica;
    private final History history;
    private final WriteCommands writes;
    private final RequestParser parser;
    private final ApiMetrics metrics;
    private final Authenticator auth;
    private final BodyBudget bodies;

    public ValuesService(Replica replica, History history, CommandBus commandBus, BooleanSupplier storageAvailable,
                         int maxValueBytes, Duration commandTimeout, ApiMetrics metrics, Authenticator auth,
                         BodyBudget bodies) {
        this.replica = replica;
        this.history = history;
        this.writes = new WriteCommands(replica, commandBus, storageAvailable, commandTimeout, metrics);
        this.parser = new RequestParser(maxValueBytes);
        this.metrics = metrics;
        this.auth = auth;
        this.bodies = bodies;
        bodies.requireRoomFor(largestAnswer(maxValueBytes), "an answer");
    }

    /**
     * The largest answer: one value of control characters, each escaped to six bytes in JSON, with its key and the
     * JSON around them (a listing page ends before 4 MiB unless its first value alone is larger).
     */
    static long largestAnswer(int maxValueBytes) {
        return 6L * maxValueBytes + 64 * 1024;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (req, res) -> list(req, res, true))
                .head("/", (req, res) -> list(req, res, false))
                .any("/", this::writeToCollection)
                .get("/*", this::get)
                .head("/*", this::head)
                .put("/*", this::put)
                .delete("/*", this::delete)
                .any("/*", (req, res) -> ApiError.methodNotAllowed(req, res, "GET, HEAD, PUT, DELETE"));
    }

    /** {@code GET /values/{key}}: 200 with the value and its ETag, 404 with an empty body. */
    private void get(ServerRequest req, ServerResponse res) {
        read(req, res, true);
    }

    /** {@code HEAD /values/{key}}: what GET answers, headers only (RFC 9110 §9.3.2). */
    private void head(ServerRequest req, ServerResponse res) {
        read(req, res, false);
    }

    private void read(ServerRequest req, ServerResponse res, boolean withBody) {
        auth.requireRead(req, res);
        String key = parser.key(req);
        RequestParser.refuse(req, "ttl", "bad_ttl", "ttl applies to PUT");
        Optional<Long> at = RequestParser.atRevision(req);
        if (at.isPresent()) {
            getAt(key, at.get(), req, res, withBody);
            return;
        }
        if (!replica.loaded()) {
            throw WriteCommands.unavailable("The replica is still loading");
        }
        Entry entry = replica.get(key);
        if (entry == null) {
            res.status(Status.NOT_FOUND_404).send();
            return;
        }
        String etag = etag(entry.modRevision());
        res.header(HeaderNames.ETAG, etag);
        expires(res, entry.expires());
        if (RequestParser.notModified(req, etag)) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        byte[] body = entry.expires() == null ? ValueBodyWriter.write(key, entry.value())
                : Json.write(new ValueBody(key, entry.value(), entry.expires().toString()));
        send(res, body, withBody);
    }

    /**
     * A 200 with a JSON body, or for a HEAD request its headers alone. A large body is held in the process's budget
     * while it is written, so that clients that stop reading cannot pin more than it; small ones, the hot path of
     * reads, are sent without.
     */
    private void send(ServerResponse res, byte[] body, boolean withBody) {
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        if (!withBody || body.length <= UNBUDGETED_ANSWER_BYTES) {
            HeadOrGet.send(res, body, withBody);
            return;
        }
        try (BodyBudget.Share share = bodies.share()) {
            if (!share.cover(body.length)) {
                throw new ApiException(Status.SERVICE_UNAVAILABLE_503, "overloaded", BodyBudget.NO_ROOM);
            }
            res.send(body);
        }
    }

    /**
     * {@code GET /values/{key}?revision=R}: the value the key had at revision R, with its mod revision (the ETag);
     * 404 if it did not exist then, 410 if R is older than the retained history, 400 if R is in the future.
     */
    private void getAt(String key, long revision, ServerRequest req, ServerResponse res, boolean withBody) {
        Optional<Entry> entry = found(history.get(key, revision), revision);
        if (entry.isEmpty()) {
            res.status(Status.NOT_FOUND_404).send();
            return;
        }
        String etag = etag(entry.get().modRevision());
        res.header(HeaderNames.ETAG, etag);
        Instant expires = entry.get().expires();
        expires(res, expires);
        if (RequestParser.notModified(req, etag)) {
            res.status(Status.NOT_MODIFIED_304).send();
            return;
        }
        send(res, Json.write(new ListedValue(key, entry.get().value(), entry.get().modRevision(),
                                             expires == null ? null : expires.toString())), withBody);
    }

    /** The value of a read at a revision, or the error that says why there is none. */
    private static <T> T found(History.At<T> at, long revision) {
        return switch (at) {
            case History.Found<T> found -> found.value();
            case History.Compacted<T> compacted -> throw new ApiException(
                    Status.create(410, "Gone"), "compacted",
                    "Revision " + revision + " is older than the retained history (compacted up to "
                    + compacted.compacted() + ")");
            case History.Future<T> future -> throw new ApiException(
                    Status.BAD_REQUEST_400, "future_revision",
                    "Revision " + revision + " is above the current revision " + future.current());
        };
    }

    /**
     * A listing page ends before its keys and values as JSON strings pass this, so that one request holds a bounded
     * answer in memory however large the values (the first key always fits: a value is at most
     * {@code kvstream.max-value-bytes}).
     */
    static final long MAX_PAGE_BYTES = 4L * 1024 * 1024;

    /**
     * {@code GET /values?prefix=a&limit=100&after=k}: one sorted page, consistent at one revision, of at most
     * {@code limit} keys and {@link #MAX_PAGE_BYTES}; with {@code keys_only=true} the keys and their revisions alone,
     * which {@code limit} bounds by itself (keys are short). HEAD answers its headers.
     */
    private void list(ServerRequest req, ServerResponse res, boolean withBody) {
        auth.requireRead(req, res);
        String prefix = RequestParser.keyParameter(req, "prefix").orElse("");
        String after = RequestParser.keyParameter(req, "after").orElse(null);
        int limit = RequestParser.limit(req);
        boolean withValues = !RequestParser.keysOnly(req);
        long maxBytes = withValues ? MAX_PAGE_BYTES : Long.MAX_VALUE;
        Optional<Long> at = RequestParser.atRevision(req);
        if (at.isPresent()) {
            History.Page page = found(history.list(prefix, after, limit, maxBytes, withValues, at.get()), at.get());
            send(res, Json.write(new ListBody(page.revision(), listed(page.values(), withValues), page.next())),
                 withBody);
            return;
        }
        if (!replica.loaded()) {
            throw WriteCommands.unavailable("The replica is still loading");
        }
        Replica.Page page = replica.list(prefix, after, limit, maxBytes);
        send(res, Json.write(new ListBody(page.revision(), listed(page.values(), withValues), page.next())), withBody);
    }

    private static List<ListedValue> listed(List<Map.Entry<String, Entry>> values, boolean withValues) {
        return values.stream()
                .map(e -> new ListedValue(e.getKey(), withValues ? e.getValue().value() : null,
                                          e.getValue().modRevision(),
                                          e.getValue().expires() == null ? null : e.getValue().expires().toString()))
                .toList();
    }

    /**
     * {@code PUT /values/{key}}: stores the body; 200 once visible here, 202 with {@code Prefer: respond-async}.
     * With {@code ?ttl=S} the value expires S seconds after its commit: the answer names the deadline.
     */
    private void put(ServerRequest req, ServerResponse res) {
        try (BodyBudget.Share share = bodies.share()) {
            put(req, res, share);
        }
    }

    private void put(ServerRequest req, ServerResponse res, BodyBudget.Share share) {
        auth.requireWrite(req, res);
        String key = parser.key(req);
        Optional<Long> ifMatch = parser.ifMatch(req);
        boolean ifNoneMatch = parser.ifNoneMatchAny(req);
        Optional<Long> ttl = RequestParser.ttl(req);
        refuseRevision(req);
        String value = value(req, res, share);
        Command put = Command.put(WriteCommands.newCommandId(), key, value, ifMatch.orElse(null), ifNoneMatch);
        Command command = IdempotencyKey.apply(req, ttl.map(put::expiringAfter).orElse(put));
        if (WriteCommands.respondAsync(req)) {
            writes.enqueue(command);
            WriteCommands.sendAccepted(res, new AcceptedBody(key, "Accepted", command.id()));
            return;
        }
        CommandOutcome outcome = writes.execute(command);
        if (!outcome.applied()) {
            refuse(res, outcome, key);
            return;
        }
        res.header(HeaderNames.ETAG, etag(outcome.revision()));
        // The deadline was set at the commit; this replica has applied it (read-your-writes), unless a later write
        // replaced it meanwhile.
        Entry stored = replica.stored(key);
        Instant expires = ttl.isPresent() && stored != null && stored.modRevision() == outcome.revision()
                          ? stored.expires() : null;
        expires(res, expires);
        WriteCommands.sendJson(res, Status.OK_200, new PutBody(key, value, "OK", outcome.revision(),
                                                               expires == null ? null : expires.toString()));
    }

    /** The {@code Expires} header of a value with a deadline: an HTTP-date, to the second. */
    private static void expires(ServerResponse res, Instant expires) {
        if (expires != null) {
            res.header(HeaderNames.EXPIRES, HTTP_DATE.format(expires));
        }
    }

    private String value(ServerRequest req, ServerResponse res, BodyBudget.Share share) {
        try {
            return parser.value(req, share);
        } catch (ApiException e) {
            throw ApiErrorHandlers.refusedBody(res, e, metrics);
        }
    }

    /** {@code DELETE /values/{key}}: message "1" with the new revision, or "0" if there was no such key. */
    private void delete(ServerRequest req, ServerResponse res) {
        auth.requireWrite(req, res);
        String key = parser.key(req);
        Optional<Long> ifMatch = parser.ifMatch(req);
        parser.refuseIfNoneMatch(req);
        refuseRevision(req);
        RequestParser.refuse(req, "ttl", "bad_ttl", "ttl applies to PUT");
        Command command = IdempotencyKey.apply(req, Command.delete(WriteCommands.newCommandId(), key, ifMatch.orElse(null)));
        if (WriteCommands.respondAsync(req)) {
            writes.enqueue(command);
            WriteCommands.sendAccepted(res, new AcceptedBody(key, "Accepted", command.id()));
            return;
        }
        CommandOutcome outcome = writes.execute(command);
        switch (outcome.status()) {
            case APPLIED -> WriteCommands.sendJson(res, Status.OK_200, new DeleteBody(key, "1", outcome.revision()));
            case UNCHANGED -> WriteCommands.sendJson(res, Status.OK_200, new DeleteBody(key, "0", null));
            default -> refuse(res, outcome, key);
        }
    }

    /**
     * A 412 names the key's current revision in its {@code ETag} (none if the key is absent), as this replica holds
     * it once it has what the worker decided on, so that a compare-and-set loop retries without reading first.
     */
    private void refuse(ServerResponse res, CommandOutcome outcome, String key) {
        if (outcome.status() == CommandOutcome.Status.PRECONDITION_FAILED) {
            if (replica.awaitRevision(outcome.revision(), PRECONDITION_STATE_WAIT)) {
                Entry current = replica.get(key);
                if (current != null) {
                    res.header(HeaderNames.ETAG, etag(current.modRevision()));
                }
            }
            ApiError.send(res, Status.PRECONDITION_FAILED_412, "precondition_failed",
                          "The precondition on key '" + key + "' does not hold");
        } else {
            WriteCommands.refuseUnprocessable(res, outcome, "The value");
        }
    }

    /** {@code PUT /values/} names an empty key (400); {@code PUT /values} names the collection (405). */
    private void writeToCollection(ServerRequest req, ServerResponse res) {
        if (req.prologue().uriPath().rawPathNoParams().endsWith("/")) {
            parser.key(req);
        }
        ApiError.methodNotAllowed(req, res, "GET, HEAD");
    }

    /** {@code ?revision=} reads as of a revision; on a write it is refused, lest it be taken for a compare-and-set. */
    private static void refuseRevision(ServerRequest req) {
        RequestParser.refuse(req, "revision", "bad_revision",
                             "A write takes no revision: If-Match: \"<revision>\" makes it a compare-and-set");
    }

    static String etag(long revision) {
        return "\"" + revision + "\"";
    }

    record ValueBody(String key, String value, String expires) {
        ValueBody(String key, String value) {
            this(key, value, null);
        }
    }

    record PutBody(String key, String value, String message, long revision, String expires) {
    }

    record DeleteBody(String key, String message, Long revision) {
    }

    record AcceptedBody(String key, String message, String command) {
    }

    record ListedValue(String key, String value, long revision, String expires) {
    }

    record ListBody(long revision, List<ListedValue> values, String next) {
    }
}
