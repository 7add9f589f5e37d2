package io.kvstream.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import io.helidon.common.buffers.DataReader;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.kvstream.domain.Command;
import io.kvstream.domain.Keys;
import io.kvstream.http.QueryParameters;

/** Reads and checks what a request names: the key in the path, the value in the body, preconditions. */
final class RequestParser {
    /** Digits of a revision read at most: beyond a long's, it is above every revision anyway. */
    private static final int MAX_REVISION_DIGITS = 64;
    private static final int DEFAULT_LIMIT = 100;
    private static final int MAX_LIMIT = 1000;

    private static final String VALUES_PATH = "/values/";

    private final int maxValueBytes;

    RequestParser(int maxValueBytes) {
        this.maxValueBytes = maxValueBytes;
    }

    /**
     * The key: the whole raw path segment after {@code /values/} (a {@code ;} is part of it, not a parameter),
     * percent-decoded as strict UTF-8.
     */
    String key(ServerRequest req) {
        if (req.prologue().fragment().hasValue()) {
            // A request target has no fragment (RFC 9112 §3.2): a raw '#' would silently cut the key short.
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", "A key cannot contain a raw '#'; encode it as %23");
        }
        String raw = req.prologue().uriPath().rawPath();
        if (!raw.startsWith(VALUES_PATH)) {
            // Routed by its decoded path (/%76alues/a/values/b is /values/a/values/b): the key is taken from the raw
            // one, so anything but /values/ as written there would take it from elsewhere, past a proxy's path rules.
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", "The path must begin with /values/ as written");
        }
        String encoded = raw.substring(VALUES_PATH.length());
        if (encoded.isEmpty()) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", "The key is empty");
        }
        if (encoded.indexOf('/') >= 0) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", "A key cannot contain '/'");
        }
        if (plainAscii(encoded)) {
            // The common case, and the hot path of GET: nothing to decode.
            if (encoded.length() > Keys.MAX_BYTES) {
                throw keyTooLong();
            }
            return encoded;
        }
        try {
            return Keys.decode(encoded);
        } catch (Keys.InvalidKeyException e) {
            if (e.problem() == Keys.Problem.TOO_LONG) {
                throw keyTooLong();
            }
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", e.getMessage());
        }
    }

    /** The body as UTF-8 text, at most {@code maxValueBytes}, read into {@code share}. */
    String value(ServerRequest req, BodyBudget.Share share) {
        Optional<String> contentType = req.headers().first(HeaderNames.CONTENT_TYPE);
        if (contentType.isPresent()) {
            String type = contentType.get().toLowerCase(Locale.ROOT);
            // Any type is stored as the raw body (curl -d sends form-urlencoded); a multipart body would store
            // the encoding instead of the value the client meant.
            if (type.startsWith("multipart/")) {
                throw new ApiException(Status.UNSUPPORTED_MEDIA_TYPE_415, "unsupported_media_type",
                                              "The value is the raw request body; multipart bodies are not accepted");
            }
        }
        byte[] body = body(req, share, maxValueBytes, TxnParser.maxBodyBytes(maxValueBytes), "value_too_large",
                           "A value is at most " + maxValueBytes + " bytes");
        String value = utf8(body, "bad_value", "The value is not valid UTF-8");
        if (value.indexOf('\0') >= 0) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_value", "A value cannot contain NUL");
        }
        return value;
    }

    /**
     * The body, at most {@code limit} bytes (a larger one is a 413 with this code and message), held in {@code share}:
     * a body the process has no room left for is a 503. A body of a declared length takes its room before it is read,
     * so that many clients sending at once are each admitted whole or refused at once, not all starved halfway. A
     * chunked one takes room for the largest chunk Helidon may read whole before a byte of it reaches this code,
     * {@code chunkBytes} (the server's payload bound), so that chunks held half-sent are counted too.
     */
    static byte[] body(ServerRequest req, BodyBudget.Share share, int limit, long chunkBytes, String code,
                       String message) {
        Optional<String> declared = req.headers().first(HeaderNames.CONTENT_LENGTH);
        long length = -1;
        if (req.headers().contains(HeaderNames.TRANSFER_ENCODING)) {
            if (!share.cover(Math.max(limit, chunkBytes))) {
                throw noRoom();
            }
        } else if (declared.isPresent()) {
            try {
                length = Long.parseLong(declared.get().trim());
            } catch (NumberFormatException e) {
                throw new ApiException(Status.BAD_REQUEST_400, "bad_request", "Invalid Content-Length");
            }
            if (length > 2L * limit) {
                // Too large to be worth reading out: answer and close at once.
                throw tooLarge(code, message);
            }
            if (length <= limit && !share.cover(length)) {
                throw noRoom();
            }
        }
        return readAtMost(req, share, limit, length <= limit ? (int) length : -1, code, message);
    }

    /** {@code If-Match: "7"} or {@code *}; empty when absent. */
    Optional<Long> ifMatch(ServerRequest req) {
        Optional<String> header = single(req, HeaderNames.IF_MATCH,
                                         "If-Match must be * or one revision ETag such as \"7\"");
        if (header.isEmpty()) {
            return Optional.empty();
        }
        String value = header.get().trim();
        if (value.equals("*")) {
            return Optional.of(Command.ANY_REVISION);
        }
        return Optional.of(revisionTag(value).orElseThrow(() -> new ApiException(
                Status.BAD_REQUEST_400, "bad_precondition", "If-Match must be * or one revision ETag such as \"7\"")));
    }

    /**
     * A precondition header sent once. On two lines it is a list (RFC 9110 §5.3), refused as one on a single line
     * is, with {@code message}; taking the first would check another condition than the client sent.
     */
    private static Optional<String> single(ServerRequest req, HeaderName name, String message) {
        if (req.headers().all(name, List::of).size() > 1) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_precondition", message);
        }
        return req.headers().first(name);
    }

    /** True for {@code If-None-Match: *} (create only); other forms are not meaningful for writes. */
    boolean ifNoneMatchAny(ServerRequest req) {
        Optional<String> header = single(req, HeaderNames.IF_NONE_MATCH, "For writes If-None-Match must be *");
        if (header.isEmpty()) {
            return false;
        }
        if (header.get().trim().equals("*")) {
            return true;
        }
        throw new ApiException(Status.BAD_REQUEST_400, "bad_precondition",
                                      "For writes If-None-Match must be *");
    }

    /**
     * A query parameter that names keys ({@code prefix}, {@code after}), read from the raw query under the key rules
     * as the path's key and {@code /events}' filters are (strict UTF-8, at most 256 bytes, no {@code /} or control
     * character; it may be empty); empty when absent.
     */
    static Optional<String> keyParameter(ServerRequest req, String name) {
        if (!present(req, name, "bad_key")) {
            return Optional.empty();
        }
        try {
            return Optional.of(Keys.decodeQueryParameter(req.query().getRaw(name)));
        } catch (Keys.InvalidKeyException e) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_key", e.problem().describe("The parameter " + name));
        }
    }

    /**
     * Whether {@code If-None-Match} says the client's copy is current (RFC 9110 §13.1.2): {@code *}, or a list (in
     * one header or several) naming {@code etag}, compared weakly ({@code W/"5"} names {@code "5"}).
     */
    static boolean notModified(ServerRequest req, String etag) {
        if (!req.headers().contains(HeaderNames.IF_NONE_MATCH)) {
            return false;
        }
        for (String header : req.headers().values(HeaderNames.IF_NONE_MATCH)) {
            for (String tag : header.split(",")) {
                String trimmed = tag.trim();
                if (trimmed.equals("*") || (trimmed.startsWith("W/") ? trimmed.substring(2) : trimmed).equals(etag)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A delete has no precondition on absence (it would delete nothing): {@code If-None-Match} is refused rather than
     * ignored, so that a client relying on it learns so.
     */
    void refuseIfNoneMatch(ServerRequest req) {
        if (req.headers().contains(HeaderNames.IF_NONE_MATCH)) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_precondition",
                                   "If-None-Match applies to PUT only; a DELETE takes If-Match");
        }
    }

    /** {@code ?revision=R}: a read of the store as it was at revision R (0 or more); empty when absent. */
    static Optional<Long> atRevision(ServerRequest req) {
        if (!present(req, "revision", "bad_revision")) {
            return Optional.empty();
        }
        String digits = req.query().first("revision").orElse("");
        if (digits.isEmpty() || digits.length() > MAX_REVISION_DIGITS
            || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new ApiException(Status.BAD_REQUEST_400, "bad_revision", "revision must be a non-negative integer");
        }
        try {
            return Optional.of(Long.parseLong(digits));
        } catch (NumberFormatException beyondEveryRevision) {
            throw new ApiException(Status.BAD_REQUEST_400, "future_revision",
                                   "Revision " + digits + " is above the current revision");
        }
    }

    /** {@code ?ttl=S}: whole seconds, 1 to {@link Command#MAX_TTL}; empty without the parameter. */
    static Optional<Long> ttl(ServerRequest req) {
        if (!present(req, "ttl", "bad_ttl")) {
            return Optional.empty();
        }
        String digits = req.query().first("ttl").orElse("");
        if (!digits.isEmpty() && digits.length() <= 8 && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            long ttl = Long.parseLong(digits);
            if (ttl >= 1 && ttl <= Command.MAX_TTL) {
                return Optional.of(ttl);
            }
        }
        throw new ApiException(Status.BAD_REQUEST_400, "bad_ttl",
                               "ttl must be a whole number of seconds from 1 to " + Command.MAX_TTL);
    }

    /** {@code ?keys_only=true|false}: a listing of keys without their values (etcd's keys_only); false without it. */
    static boolean keysOnly(ServerRequest req) {
        if (!present(req, "keys_only", "bad_keys_only")) {
            return false;
        }
        return switch (req.query().first("keys_only").orElse("")) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ApiException(Status.BAD_REQUEST_400, "bad_keys_only", "keys_only must be true or false");
        };
    }

    /** {@code ?limit=N}: keys per page, 1 to {@link #MAX_LIMIT}; {@link #DEFAULT_LIMIT} without the parameter. */
    static int limit(ServerRequest req) {
        if (!present(req, "limit", "bad_limit")) {
            return DEFAULT_LIMIT;
        }
        // Digits alone, as revision and ttl take them: Integer.parseInt would take a sign too.
        String digits = req.query().first("limit").orElse("");
        if (!digits.isEmpty() && digits.length() <= 4 && digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            int limit = Integer.parseInt(digits);
            if (limit >= 1 && limit <= MAX_LIMIT) {
                return limit;
            }
        }
        throw new ApiException(Status.BAD_REQUEST_400, "bad_limit", "limit must be 1 to " + MAX_LIMIT);
    }

    /** Whether query parameter {@code name} is given; given more than once → 400 {@code code}. */
    private static boolean present(ServerRequest req, String name, String code) {
        try {
            return QueryParameters.givenOnce(req.query(), name);
        } catch (IllegalArgumentException e) {
            throw new ApiException(Status.BAD_REQUEST_400, code, e.getMessage());
        }
    }

    /**
     * A parameter of other requests given to this one → 400 {@code code}: a client sending {@code ?revision=} with a
     * PUT means a compare-and-set, and ignoring it would write unconditionally.
     */
    static void refuse(ServerRequest req, String name, String code, String message) {
        if (req.query().contains(name)) {
            throw new ApiException(Status.BAD_REQUEST_400, code, message);
        }
    }

    /**
     * A strong ETag holding a revision as this server writes it, {@code "7"}: {@code "07"} is another tag, which no
     * revision has, not the same one written differently.
     */
    static Optional<Long> revisionTag(String tag) {
        if (tag.length() < 3 || tag.charAt(0) != '"' || tag.charAt(tag.length() - 1) != '"') {
            return Optional.empty();
        }
        String digits = tag.substring(1, tag.length() - 1);
        if (digits.isEmpty() || digits.length() > 18 || digits.charAt(0) == '0'
            || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Optional.empty();
        }
        long revision = Long.parseLong(digits);
        return revision > 0 ? Optional.of(revision) : Optional.empty();
    }

    /** Reads the body into a buffer of {@code length}, its declared length, or growing as it arrives if -1. */
    private static byte[] readAtMost(ServerRequest req, BodyBudget.Share share, int limit, int length, String code,
                                     String message) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        // Closed only once read to its end: closing a body refused halfway would read on in search of its end, and
        // with malformed chunks wait for bytes the client may never send, where the connection is to be dropped.
        InputStream in = req.content().inputStream();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(length >= 0 ? length : Math.min(limit, 8192));
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (out.size() + n > limit) {
                    if (!readToItsEnd(in, limit)) {
                        throw tooLarge(code, message);
                    }
                    in.close();
                    throw new ApiException(Status.REQUEST_ENTITY_TOO_LARGE_413, code, message);
                }
                if (!share.cover(out.size() + n)) {
                    throw noRoom();
                }
                out.write(buffer, 0, n);
            }
            in.close();
            return out.toByteArray();
        } catch (IOException | DataReader.InsufficientDataAvailableException e) {
            throw ApiException.bodyNotRead(Status.BAD_REQUEST_400, "bad_request",
                                           "The body ended before its Content-Length or its last chunk");
        } catch (RequestException e) {
            if (e.status().code() == Status.REQUEST_ENTITY_TOO_LARGE_413.code()) {
                // A chunk declared past server.max-payload-size, refused by Helidon before it is read.
                throw tooLarge(code, message);
            }
            throw malformedChunks();
        } catch (IllegalArgumentException | DataReader.IncorrectNewLineException e) {
            throw malformedChunks();
        }
    }

    private static ApiException malformedChunks() {
        // Helidon 4.5 reads the chunk-size line as a bare hex number: "3;ext=v" lands here too.
        return ApiException.bodyNotRead(Status.BAD_REQUEST_400, "bad_request",
                                        "The chunked body is malformed (chunk sizes are hex digits ending in CRLF;"
                                        + " chunk extensions are not supported)");
    }

    private static ApiException noRoom() {
        return ApiException.bodyNotRead(Status.SERVICE_UNAVAILABLE_503, "overloaded", BodyBudget.NO_ROOM);
    }

    /**
     * Reads and drops what is left of a body that is too large, up to {@code bound} more bytes; true if that was all of
     * it. A client still sending when the 413 comes and the connection closes would get a reset, not the answer; a
     * body not much larger than the limit is read out, and the connection stays usable.
     */
    private static boolean readToItsEnd(InputStream in, int bound) throws IOException {
        byte[] buffer = new byte[8192];
        long dropped = 0;
        int n;
        while ((n = in.read(buffer)) > 0) {
            dropped += n;
            if (dropped > bound) {
                return false;
            }
        }
        return true;
    }

    private static ApiException tooLarge(String code, String message) {
        return ApiException.bodyNotRead(Status.REQUEST_ENTITY_TOO_LARGE_413, code, message);
    }

    private static ApiException keyTooLong() {
        return new ApiException(Status.REQUEST_URI_TOO_LONG_414, "key_too_long", Keys.Problem.TOO_LONG.describe("A key"));
    }

    private static boolean plainAscii(String encoded) {
        for (int i = 0; i < encoded.length(); i++) {
            char c = encoded.charAt(i);
            if (c == '%' || c < 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static String utf8(byte[] bytes, String code, String message) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ApiException(Status.BAD_REQUEST_400, code, message);
        }
    }
}
