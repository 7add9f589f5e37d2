package io.kvstream.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.StoredContent;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * A seeded, reproducible corpus of thousands of malformed requests, sent byte for byte over raw sockets
 * (so nothing is "fixed" by a client library): each gets its documented 4xx, never a 5xx, the server keeps
 * serving, and nothing a bad request carried reaches the store.
 */
class BadInputTest {
    private static final long SEED = 20261125L;
    private static final int MAX_VALUE_BYTES = 4096;
    private static final int CASES_PER_KIND = 150;
    private static TestNode node;
    private static Settings settings;

    /** One malformed request and the statuses its kind is documented to get. */
    record Case(String kind, byte[] request, Set<Integer> expected) {
    }

    @BeforeAll
    static void start() {
        Settings base = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("bad"),
                                              TestServices.uniqueName("bad"));
        settings = base.toBuilder().maxValueBytes(MAX_VALUE_BYTES).build();
        node = TestNode.start(settings);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void malformedRequestsGetTheirDocumented4xxAndChangeNothing() throws IOException {
        List<Case> corpus = corpus(new Random(SEED));
        // Other tests of this class write to the same node: what counts is that the corpus changes nothing.
        StoredContent before = StoredContent.read(settings.db());
        Map<String, Entry> replicaBefore = node.contents();
        Map<String, String> unexpected = new TreeMap<>();
        for (Case c : corpus) {
            RawHttp.Response response = RawHttp.send(node.port(), c.request());
            int status = response.status();
            if (!c.expected().contains(status)) {
                unexpected.merge(c.kind() + " -> " + status, abbreviate(c.request()), (a, b) -> a);
            } else if (status > 0 && !jsonError(response)) {
                unexpected.merge(c.kind() + " -> " + status + " without a JSON error body",
                                 abbreviate(c.request()) + " answered " + response.headers() + " " + response.body(),
                                 (a, b) -> a);
            }
        }
        assertThat("seed " + SEED + ": requests with an undocumented answer: " + unexpected, unexpected.isEmpty(),
                   is(true));

        StoredContent stored = StoredContent.read(settings.db());
        assertThat(stored.revision(), is(before.revision()));
        assertThat(stored.values(), is(before.values()));
        assertThat(node.contents(), is(replicaBefore));
        // ... and the server still serves.
        assertThat(RawHttp.send(node.port(), request("PUT", "/values/still-serving", Map.of(),
                                                     "ok".getBytes(StandardCharsets.UTF_8))).status(), is(200));
        assertThat(RawHttp.send(node.port(), request("GET", "/values/still-serving", Map.of(), null)).status(), is(200));
    }

    /** Helidon 4 speaks HTTP/1.1 only; an HTTP/1.0 request is told so in the API's error format. */
    @Test
    void http10IsRefusedWith505AndAJsonError() throws IOException {
        RawHttp.Response response = RawHttp.send(node.port(), "GET /values/k HTTP/1.0\r\n\r\n");
        assertThat(response.status(), is(505));
        assertThat(response.body(), startsWith("{\"error\":\"http_version_not_supported\",\"message\":\"Use HTTP/1.1\""));
    }

    /**
     * A client still sending a body just over the limit reads the 413 (the rest of the body is read out rather than
     * reset), and its connection stays usable for the next request.
     */
    @Test
    void aBodyJustOverTheLimitGetsItsAnswerAndTheConnectionStaysUsable() throws IOException {
        try (Socket socket = new Socket("127.0.0.1", node.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PUT /values/just-over HTTP/1.1\r\nHost: x\r\nContent-Length: " + (MAX_VALUE_BYTES + 1)
                       + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write("x".repeat(MAX_VALUE_BYTES + 1).getBytes(StandardCharsets.US_ASCII));
            out.write("GET /values/just-over HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            StringBuilder answers = new StringBuilder();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            int n;
            while (!answers.toString().contains("HTTP/1.1 404") && (n = in.read(buffer)) > 0) {
                answers.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
            }
            assertThat(answers.toString(), startsWith("HTTP/1.1 413 "));
            assertThat(answers.toString(), containsString("{\"error\":\"value_too_large\""));
            assertThat(answers.toString(), containsString("HTTP/1.1 404 "));
        }
    }

    /** An invalid method token is refused with 400 and the API's error format, as every bad request line. */
    @Test
    void invalidMethodTokenIs400() throws IOException {
        RawHttp.Response response = RawHttp.send(node.port(), "GE(T /values/k HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(response.status(), is(400));
        assertThat(response.header("Connection").orElseThrow(), is("close"));
        assertThat(response.body(), startsWith("{\"error\":\"bad_request\",\"message\":\"Malformed request\""));
    }

    /**
     * A malformed chunked body is answered and the connection dropped while the client still waits with its side
     * open; answering only once the client closed (or sent more) would leave it hanging until the body deadline.
     */
    @Test
    void aMalformedChunkIsAnsweredWhileTheClientWaits() throws IOException {
        for (String size : List.of("zz", "3;a=b", "-3", "0x3")) {
            String answer = RawHttp.sendKeepingOpen(node.port(), "PUT /values/chunky HTTP/1.1\r\nHost: x\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\nabc\r\n0\r\n\r\n");
            RawHttp.Response response = RawHttp.parse(answer.getBytes(StandardCharsets.ISO_8859_1));
            assertThat(size, response.status(), is(400));
            assertThat(size, response.header("Connection").orElseThrow(), is("close"));
            assertThat(size, response.body(), startsWith("{\"error\":\"bad_request\",\"message\":\"The chunked body is malformed"));
        }
        assertThat(RawHttp.send(node.port(), "GET /values/chunky HTTP/1.1\r\nHost: x\r\n\r\n").status(), is(404));
    }

    /**
     * A chunk declared larger than any body the API reads is refused before a byte of it is read, and the connection
     * closed: on a PUT with the API's 413, on a GET (whose route reads no body) after its answer. Read whole, a few
     * such chunks filled the heap.
     */
    @Test
    void aChunkLargerThanAnyBodyIsRefusedUnread() throws IOException {
        String hugeChunk = "Transfer-Encoding: chunked\r\n\r\n7ffffff0\r\n" + "x".repeat(64 * 1024);

        RawHttp.Response put = RawHttp.parse(RawHttp.sendKeepingOpen(
                node.port(), "PUT /values/huge-chunk HTTP/1.1\r\nHost: x\r\n" + hugeChunk)
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(put.status(), is(413));
        assertThat(put.header("Connection").orElseThrow(), is("close"));
        assertThat(put.body(), startsWith("{\"error\":\"value_too_large\",\"message\":\"A value is at most "
                                          + MAX_VALUE_BYTES + " bytes\""));

        RawHttp.Response get = RawHttp.parse(RawHttp.sendKeepingOpen(
                node.port(), "GET /values/huge-chunk HTTP/1.1\r\nHost: x\r\n" + hugeChunk)
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(get.status(), is(404));
        assertThat(RawHttp.send(node.port(), "GET /values/huge-chunk HTTP/1.1\r\nHost: x\r\n\r\n").status(), is(404));
    }

    /**
     * A chunked request's connection ends with its answer, and a chunk nobody wants is never read: Helidon reads a
     * chunk whole before anything sees it, so reading out a 2 MiB chunk sent to a route that takes no body (a 404, a
     * 401) held it in the heap per connection until the client finished or the body deadline passed.
     */
    @Test
    void aChunkedBodyNoRouteWantsIsNotReadAndItsConnectionEnds() throws IOException {
        String halfAChunk = "Transfer-Encoding: chunked\r\n\r\n200000\r\n" + "x".repeat(64 * 1024);
        for (String target : List.of("GET /nowhere", "GET /values/unwanted-chunk", "DELETE /values")) {
            RawHttp.Response answer = RawHttp.parse(RawHttp.sendKeepingOpen(
                    node.port(), target + " HTTP/1.1\r\nHost: x\r\n" + halfAChunk).getBytes(StandardCharsets.ISO_8859_1));
            assertThat(target, answer.status() / 100, is(4));
            assertThat(target, answer.header("Connection").orElseThrow(), is("close"));
        }
        // A chunked write is served, and its connection ends with the answer.
        RawHttp.Response put = RawHttp.parse(RawHttp.sendKeepingOpen(node.port(), "PUT /values/chunked-ok HTTP/1.1\r\n"
                + "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        assertThat(put.status(), is(200));
        assertThat(put.header("Connection").orElseThrow(), is("close"));
        assertThat(node.value("chunked-ok").orElseThrow().value(), is("abc"));
    }

    /** {@code Connection: close} ends the connection after the answer: a request pipelined behind it is not served. */
    @Test
    void connectionCloseEndsTheConnectionAfterTheAnswer() throws IOException {
        String answers = RawHttp.sendKeepingOpen(node.port(), "PUT /values/closing HTTP/1.1\r\nHost: x\r\n"
                + "Content-Length: 1\r\nConnection: close\r\n\r\nv"
                + "PUT /values/pipelined HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv");
        assertThat(answers, answers.split("HTTP/1.1 ", -1).length - 1, is(1));
        RawHttp.Response response = RawHttp.parse(answers.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(response.status(), is(200));
        assertThat(response.header("Connection").orElseThrow(), is("close"));
        assertThat(RawHttp.send(node.port(), "GET /values/pipelined HTTP/1.1\r\nHost: x\r\n\r\n").status(), is(404));
    }

    /** A transfer coding Helidon cannot decode is a 501 with its own code; If-None-Match on a DELETE is refused. */
    @Test
    void unsupportedTransferCodingAndDeleteIfNoneMatchAreNamed() throws IOException {
        RawHttp.Response coding = RawHttp.send(node.port(), "PUT /values/gz HTTP/1.1\r\nHost: x\r\n"
                + "Transfer-Encoding: gzip, chunked\r\n\r\n1\r\nv\r\n0\r\n\r\n");
        assertThat(coding.status(), is(501));
        assertThat(coding.body(), startsWith("{\"error\":\"not_implemented\","));

        assertThat(RawHttp.send(node.port(), "PUT /values/kept HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv")
                           .status(), is(200));
        RawHttp.Response delete = RawHttp.send(node.port(), "DELETE /values/kept HTTP/1.1\r\nHost: x\r\n"
                + "If-None-Match: *\r\n\r\n");
        assertThat(delete.status(), is(400));
        assertThat(delete.body(), startsWith("{\"error\":\"bad_precondition\",\"message\":\"If-None-Match applies to PUT only"));
        assertThat(RawHttp.send(node.port(), "GET /values/kept HTTP/1.1\r\nHost: x\r\n\r\n").status(), is(200));
    }

    /**
     * A parameter of reads on a write, or one given twice, is refused rather than ignored: {@code ?revision=} on a PUT
     * would otherwise write unconditionally where its sender meant a compare-and-set.
     */
    @Test
    void parametersThatDoNotApplyOrComeTwiceAreRefusedAndWriteNothing() throws IOException {
        String txnPut = "{\"success\":[{\"op\":\"put\",\"key\":\"p\",\"value\":\"v3\"}]}";
        RawHttp.Response written = RawHttp.send(node.port(),
                                                "PUT /values/p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nv1");
        assertThat(written.status(), is(200));
        Map<String, String> refused = Map.of(
                "PUT /values/p?revision=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nv2", "bad_revision",
                "DELETE /values/p?revision=1 HTTP/1.1\r\nHost: x\r\n\r\n", "bad_revision",
                "DELETE /values/p?ttl=5 HTTP/1.1\r\nHost: x\r\n\r\n", "bad_ttl",
                "PUT /values/p?ttl=5&ttl=6 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nv2", "bad_ttl",
                "GET /values?limit=1&limit=2 HTTP/1.1\r\nHost: x\r\n\r\n", "bad_limit",
                "GET /values?prefix=a&prefix=b HTTP/1.1\r\nHost: x\r\n\r\n", "bad_key",
                "GET /values/p?revision=1&revision=2 HTTP/1.1\r\nHost: x\r\n\r\n", "bad_revision",
                "GET /values/p?ttl=5 HTTP/1.1\r\nHost: x\r\n\r\n", "bad_ttl",
                "POST /txn?ttl=5 HTTP/1.1\r\nHost: x\r\nContent-Length: " + txnPut.length() + "\r\n\r\n" + txnPut,
                "bad_ttl",
                "POST /txn?revision=1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + txnPut.length() + "\r\n\r\n"
                + txnPut, "bad_revision");
        for (Map.Entry<String, String> request : refused.entrySet()) {
            RawHttp.Response response = RawHttp.send(node.port(), request.getKey());
            assertThat(request.getKey(), response.status(), is(400));
            assertThat(request.getKey(), response.body(), startsWith("{\"error\":\"" + request.getValue() + "\","));
        }
        RawHttp.Response still = RawHttp.send(node.port(), "GET /values/p HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(still.body(), is("{\"key\":\"p\",\"value\":\"v1\"}"));
        assertThat(still.headers().get("etag"), is(written.headers().get("etag")));
    }

    /** HEAD on the listing answers GET's headers, with the Content-Length of GET's body, and no body. */
    @Test
    void headOfAListingIsItsGetWithoutTheBody() throws IOException {
        assertThat(RawHttp.send(node.port(), "PUT /values/listed HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv")
                           .status(), is(200));
        RawHttp.Response get = RawHttp.send(node.port(), "GET /values?prefix=listed HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.Response head = RawHttp.send(node.port(), "HEAD /values?prefix=listed HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(head.status(), is(200));
        assertThat(head.headers().get("content-type"), is("application/json"));
        assertThat(head.headers().get("content-length"), is(String.valueOf(get.body().length())));
        assertThat(head.body(), is(""));
        RawHttp.Response post = RawHttp.send(node.port(), "POST /values HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assertThat(post.status(), is(405));
        assertThat(post.headers().get("allow"), is("GET, HEAD"));
    }

    /**
     * An answer to HEAD carries no body, whatever its status: a client reads none, so a body sent would be read as the
     * answer to its next request on the connection. Helidon 4.5 sends whatever a handler gives it.
     */
    @Test
    void anAnswerToHeadHasNoBodyWhateverItsStatus() throws IOException {
        Map<String, Integer> statuses = Map.of("/", 200, "/values?prefix=a", 200, "/values?limit=0", 400,
                                               "/values/absent", 404, "/nothing", 404, "/txn", 405);
        for (Map.Entry<String, Integer> target : statuses.entrySet()) {
            String answers = RawHttp.sendKeepingOpen(node.port(), "HEAD " + target.getKey() + " HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /values/absent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(target.getKey(), answers, startsWith("HTTP/1.1 " + target.getValue() + " "));
            assertThat(target.getKey(), answers.substring(answers.indexOf("\r\n\r\n") + 4), startsWith("HTTP/1.1 404 "));
        }
    }

    static List<Case> corpus(Random random) {
        List<Case> corpus = new ArrayList<>();
        for (int i = 0; i < CASES_PER_KIND; i++) {
            String good = randomKey(random);
            String method = random.nextBoolean() ? "PUT" : "DELETE";
            byte[] body = "v".getBytes(StandardCharsets.UTF_8);
            corpus.add(new Case("bad percent-encoding", request(method, "/values/" + good + badPercent(random),
                                                                Map.of(), body), Set.of(400)));
            corpus.add(new Case("invalid UTF-8 key", request(method, "/values/" + good + invalidUtf8(random),
                                                             Map.of(), body), Set.of(400)));
            corpus.add(new Case("slash in key", request(method, "/values/" + good + (random.nextBoolean() ? "%2F" : "%2f")
                                                                + good, Map.of(), body), Set.of(400)));
            corpus.add(new Case("NUL in key", request(method, "/values/" + good + "%00", Map.of(), body), Set.of(400)));
            corpus.add(new Case("empty key", request(method, "/values/", Map.of(), body), Set.of(400)));
            // Routed by the decoded path, but the key must not be taken from a later "/values/" of the raw one.
            corpus.add(new Case("encoded resource name", request(method, "/%76alues/area/values/" + good, Map.of(), body),
                                Set.of(400)));
            corpus.add(new Case("key too long", request(method, "/values/" + "k".repeat(257 + random.nextInt(3000)),
                                                        Map.of(), body), Set.of(414)));
            corpus.add(new Case("multibyte key too long", request(method, "/values/" + "%E2%82%AC".repeat(86 + random.nextInt(50)),
                                                                  Map.of(), body), Set.of(414)));
            corpus.add(new Case("value too large", request("PUT", "/values/" + good, Map.of(),
                                                           randomAscii(random, MAX_VALUE_BYTES + 1 + random.nextInt(20_000))),
                                Set.of(413)));
            corpus.add(new Case("invalid UTF-8 value", request("PUT", "/values/" + good, Map.of(), invalidUtf8Bytes(random)),
                                Set.of(400)));
            corpus.add(new Case("NUL in value", request("PUT", "/values/" + good, Map.of(), "a\0b".getBytes(StandardCharsets.UTF_8)),
                                Set.of(400)));
            corpus.add(new Case("wrong method", request(pick(random, "POST", "PATCH"), "/values/" + good, Map.of(), body),
                                Set.of(405)));
            corpus.add(new Case("write to the collection", request(pick(random, "PUT", "DELETE", "POST"), "/values", Map.of(), body),
                                Set.of(405)));
            corpus.add(new Case("multipart body", request("PUT", "/values/" + good,
                                                          Map.of("Content-Type", "multipart/form-data; boundary=x"), body),
                                Set.of(415)));
            corpus.add(new Case("broken If-Match", request(method, "/values/" + good,
                                                           Map.of("If-Match", pick(random, "5", "\"abc\"", "W/\"5\"", "\"5\", \"6\"",
                                                                                   "\"\"", "\"-1\"", "\"0\"", "\"99999999999999999999\"")),
                                                           body), Set.of(400)));
            corpus.add(new Case("If-None-Match other than *", request("PUT", "/values/" + good,
                                                                      Map.of("If-None-Match", pick(random, "\"5\"", "x", "**")), body),
                                Set.of(400)));
            corpus.add(new Case("bad limit", request("GET", "/values?limit=" + pick(random, "0", "-1", "abc", "1001", "99999999999"),
                                                     Map.of(), null), Set.of(400)));
            corpus.add(new Case("oversized header", request("PUT", "/values/" + good,
                                                            Map.of("X-Big", "h".repeat(20_000 + random.nextInt(40_000))), body),
                                Set.of(400, 413, 431)));
            corpus.add(new Case("control character in key", request(method, "/values/" + good + controlCharacter(random),
                                                                    Map.of(), body), Set.of(400)));
            corpus.add(new Case("raw # in key", request(method, "/values/" + good + "#" + good, Map.of(), body),
                                Set.of(400)));
            corpus.add(new Case("malformed chunk size", chunked("/values/" + good,
                                                                pick(random, "zz", " 8", "-5", "ffffffffffffffffff", "")
                                                                + "\r\nabc\r\n0\r\n\r\n"), Set.of(400)));
            corpus.add(new Case("chunk extension", chunked("/values/" + good, "3;a=b\r\nabc\r\n0\r\n\r\n"),
                                Set.of(400)));
            corpus.add(new Case("bare-LF chunk lines", chunked("/values/" + good, "3\nabc\n0\n\n"), Set.of(400)));
            corpus.add(new Case("Content-Length above the body, then EOF", request("PUT", "/values/" + good,
                                                                          Map.of("Content-Length", String.valueOf(2 + random.nextInt(100))),
                                                                          "v".getBytes(StandardCharsets.UTF_8)),
                                Set.of(400)));
            corpus.add(new Case("invalid method token", raw(pick(random, "\u00ff\u00fe", "GE(T", "PUT\u000b", "G\u0000T", "P\u00e9T")
                                                            + " /values/" + good + " HTTP/1.1\r\nHost: x\r\n\r\n"),
                                Set.of(400, -1)));
            corpus.add(new Case("EOF in the headers", raw(method + " /values/" + good + " HTTP/1.1\r\nHost: x\r\n"
                                                          + pick(random, "Content-Le", "X-A: b", "X-A: b\r", "")),
                                Set.of(400, -1)));
            corpus.add(new Case("bad Content-Length", request(method, "/values/" + good,
                                                              Map.of("Content-Length", pick(random, "abc", "-5", "1 2")), null),
                                Set.of(400)));
        }
        return corpus;
    }

    private static String controlCharacter(Random random) {
        int c = random.nextInt(33);
        return "%%%02X".formatted(c == 32 ? 0x7f : c);
    }

    private static byte[] chunked(String target, String body) {
        return raw("PUT " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
    }

    private static byte[] raw(String request) {
        return request.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Every refusal is the API's JSON error: {@code {"error":..,"message":..,"support":..}}. */
    private static boolean jsonError(RawHttp.Response response) {
        return response.header("Content-Type").orElse("").startsWith("application/json")
               && response.body().matches("\\{\"error\":\"[a-z_]+\",\"message\":\".*\",\"support\":\"[0-9a-f]{16}\"}");
    }

    private static String randomKey(Random random) {
        StringBuilder key = new StringBuilder("k");
        for (int i = random.nextInt(10); i > 0; i--) {
            key.append((char) ('a' + random.nextInt(26)));
        }
        return key.toString();
    }

    private static String badPercent(Random random) {
        return pick(random, "%", "%4", "%ZZ", "%G1", "%%", "%4g", "%-1");
    }

    private static String invalidUtf8(Random random) {
        return pick(random, "%C3%28", "%FF", "%FE%FF", "%ED%A0%80", "%C0%AF", "%E2%82", "%F8%88%80%80%80", "%80");
    }

    private static byte[] invalidUtf8Bytes(Random random) {
        byte[][] bad = {{(byte) 0xC3, 0x28}, {(byte) 0xFF}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                        {(byte) 0xC0, (byte) 0xAF}, {0x61, (byte) 0xE2, (byte) 0x82}};
        return bad[random.nextInt(bad.length)];
    }

    private static byte[] randomAscii(Random random, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) ('a' + random.nextInt(26));
        }
        return bytes;
    }

    private static String pick(Random random, String... options) {
        return options[random.nextInt(options.length)];
    }

    static byte[] request(String method, String target, Map<String, String> headers, byte[] body) {
        StringBuilder head = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
                .append("Host: 127.0.0.1\r\nConnection: close\r\n");
        headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        if (body != null && !headers.containsKey("Content-Length")) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    private static String abbreviate(byte[] request) {
        String text = new String(request, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n");
        String line = end > 0 ? text.substring(0, end) : text;
        return line.length() > 120 ? line.substring(0, 120) + "..." : line;
    }
}
