package io.kvstream.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.ClientResponseTyped;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.testing.junit5.ServerTest;
import io.helidon.webserver.testing.junit5.SetUpServer;
import io.kvstream.config.Settings;
import io.kvstream.role.RunningRole;
import io.kvstream.testing.HttpProbe;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;

/** Every row of the API table, through real HTTP against real PostgreSQL and AMQP. */
@ServerTest
class ValuesApiTest {
    private static RunningRole app;
    private final Http1Client client;

    private final int port;

    ValuesApiTest(Http1Client client, WebServer server) {
        this.client = client;
        this.port = server.port();
    }

    private HttpProbe probe() {
        return new HttpProbe(port);
    }

    @SetUpServer
    static void server(WebServerConfig.Builder server) {
        app = RunningRole.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("api"),
                                                   TestServices.uniqueName("api")));
        app.configure(server);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    @Test
    void putAnswersSeedShapeWithRevisionAndEtag() {
        ClientResponseTyped<String> put = client.put("/values/putkey").submit("myvalue", String.class);
        assertThat(put.status(), is(Status.OK_200));
        long revision = probe().value("putkey").orElseThrow().modRevision();
        assertThat(put.entity(), is("{\"key\":\"putkey\",\"value\":\"myvalue\",\"message\":\"OK\",\"revision\":" + revision + "}"));
        assertThat(put.headers().first(HeaderNames.ETAG).orElseThrow(), is("\"" + revision + "\""));
        assertThat(put.headers().first(HeaderNames.CONTENT_TYPE).orElseThrow(), startsWith("application/json"));
    }

    /** The key is the whole raw path segment: {@code ;} is part of it, never a parameter that gets cut off. */
    @Test
    void keyIsTheWholeRawPathSegment() throws Exception {
        RawHttp.Response put = RawHttp.send(port, "PUT /values/a;b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nv");
        assertThat(put.status(), is(200));
        assertThat(put.body(), startsWith("{\"key\":\"a;b=c\",\"value\":\"v\",\"message\":\"OK\""));
        assertThat(client.get("/values/a").request(String.class).status(), is(Status.NOT_FOUND_404));
        RawHttp.Response encoded = RawHttp.send(port, "GET /values/a%3Bb=c HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(encoded.body(), is("{\"key\":\"a;b=c\",\"value\":\"v\"}"));
    }

    /** HEAD is GET without the body: same status, ETag, Content-Type and Content-Length. */
    @Test
    void headAnswersAsGetWithoutABody() throws Exception {
        client.put("/values/headkey").submit("head value", String.class);
        RawHttp.Response get = RawHttp.send(port, "GET /values/headkey HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.Response head = RawHttp.send(port, "HEAD /values/headkey HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(head.status(), is(200));
        assertThat(head.body(), is(""));
        assertThat(head.header("ETag"), is(get.header("ETag")));
        assertThat(head.header("Content-Type"), is(get.header("Content-Type")));
        assertThat(head.header("Content-Length").orElseThrow(), is(String.valueOf(get.body().length())));

        RawHttp.Response missing = RawHttp.send(port, "HEAD /values/no-such-key HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(missing.status(), is(404));
        assertThat(missing.body(), is(""));
    }

    /** A chunked body is stored; Helidon 4.5 cannot read chunk extensions, so those are refused (400), not misread. */
    @Test
    void chunkedBodyIsStoredAndAChunkExtensionIsRefused() throws Exception {
        String chunked = "PUT /values/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nabc\r\n0\r\n\r\n";
        RawHttp.Response stored = RawHttp.send(port, chunked.formatted("chunked", "3"));
        assertThat(stored.status(), is(200));
        assertThat(client.get("/values/chunked").request(String.class).entity(), is("{\"key\":\"chunked\",\"value\":\"abc\"}"));

        RawHttp.Response extension = RawHttp.send(port, chunked.formatted("extension", "3;a=b"));
        assertThat(extension.status(), is(400));
        assertThat(extension.header("Connection").orElseThrow(), is("close"));
        assertThat(extension.body(), startsWith("{\"error\":\"bad_request\",\"message\":\"The chunked body is malformed"));
        assertThat(client.get("/values/extension").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    /** If-None-Match as RFC 9110 has it: weak comparison, lists, several header lines, and * for any current value. */
    @Test
    void conditionalGetAnswers304ForEveryFormThatNamesTheCurrentETag() {
        client.put("/values/conditional").submit("v", String.class);
        String etag = client.get("/values/conditional").request(String.class).headers().first(HeaderNames.ETAG).orElseThrow();
        for (String current : List.of(etag, "W/" + etag, "\"0\", " + etag, "*")) {
            ClientResponseTyped<String> answer = client.get("/values/conditional")
                    .header(HeaderNames.IF_NONE_MATCH, current).request(String.class);
            assertThat(current, answer.status(), is(Status.NOT_MODIFIED_304));
            assertThat(current, answer.headers().first(HeaderNames.ETAG).orElseThrow(), is(etag));
        }
        assertThat(client.get("/values/conditional").header(HeaderNames.IF_NONE_MATCH, "\"0\"")
                           .request(String.class).status(), is(Status.OK_200));
        assertThat(client.get("/values/absent-conditional").header(HeaderNames.IF_NONE_MATCH, "*")
                           .request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void putThenGetOnSameReplicaSeesValue() {
        client.put("/values/rywkey").submit("first", String.class);
        ClientResponseTyped<String> put = client.put("/values/rywkey").submit("second", String.class);
        ClientResponseTyped<String> get = client.get("/values/rywkey").request(String.class);
        assertThat(get.status(), is(Status.OK_200));
        assertThat(get.entity(), is("{\"key\":\"rywkey\",\"value\":\"second\"}"));
        assertThat(get.headers().first(HeaderNames.ETAG), is(put.headers().first(HeaderNames.ETAG)));
    }

    @Test
    void metricsEndpointServesKvstreamMeters() {
        client.put("/values/metered").submit("v", String.class);
        ClientResponseTyped<String> metrics = client.get("/observe/metrics")
                .header(HeaderNames.ACCEPT, "text/plain").request(String.class);
        assertThat(metrics.status(), is(Status.OK_200));
        assertThat(metrics.entity(), containsString("kvstream_api_commands_total{outcome=\"applied\""));
        assertThat(metrics.entity(), containsString("kvstream_replica_revision"));
        // Helidon's per-request filter is left out on purpose (MetricsWithoutRequestFilter): its counter stays 0.
        java.util.regex.Matcher requests = java.util.regex.Pattern.compile("requests_count_total\\{[^}]*} ([0-9.]+)")
                .matcher(metrics.entity());
        assertThat("Helidon's KPI counter requests.count is listed", requests.find(), is(true));
        assertThat(Double.parseDouble(requests.group(1)), is(0.0));
    }

    @Test
    void getOfMissingKeyIs404WithEmptyBody() {
        try (HttpClientResponse get = client.get("/values/nonexistingkey").request()) {
            assertThat(get.status(), is(Status.NOT_FOUND_404));
            assertThat(get.headers().contentLength().orElse(-1), is(0L));
        }
    }

    @Test
    void deleteAnswersOneWithRevisionThenZero() {
        client.put("/values/delkey").submit("v", String.class);
        ClientResponseTyped<String> first = client.delete("/values/delkey").request(String.class);
        assertThat(first.status(), is(Status.OK_200));
        long revision = probe().revision();
        assertThat(first.entity(), is("{\"key\":\"delkey\",\"message\":\"1\",\"revision\":" + revision + "}"));
        assertThat(client.get("/values/delkey").request(String.class).status(), is(Status.NOT_FOUND_404));

        ClientResponseTyped<String> second = client.delete("/values/delkey").request(String.class);
        assertThat(second.status(), is(Status.OK_200));
        assertThat(second.entity(), is("{\"key\":\"delkey\",\"message\":\"0\"}"));
        assertThat(probe().revision(), is(revision));
    }

    @Test
    void respondAsyncAnswers202WithCommandIdAndStillApplies() {
        ClientResponseTyped<String> put = client.put("/values/asynckey")
                .header(HeaderNames.create("Prefer"), "respond-async")
                .submit("later", String.class);
        assertThat(put.status(), is(Status.ACCEPTED_202));
        assertThat(put.entity(), matchesPattern(
                "\\{\"key\":\"asynckey\",\"message\":\"Accepted\",\"command\":\"[0-9a-f]{16}-[0-9a-f]+\"}"));
        assertThat(put.headers().first(HeaderNames.create("Preference-Applied")).orElseThrow(), is("respond-async"));
        org.awaitility.Awaitility.await().until(() -> probe().value("asynckey").isPresent());
        assertThat(probe().value("asynckey").orElseThrow().value(), is("later"));
    }

    @Test
    void ifMatchWithCurrentRevisionWinsAndStaleOneGets412() {
        ClientResponseTyped<String> created = client.put("/values/caskey").submit("a", String.class);
        String etag = created.headers().first(HeaderNames.ETAG).orElseThrow();
        ClientResponseTyped<String> ok = client.put("/values/caskey").header(HeaderNames.IF_MATCH, etag)
                .submit("b", String.class);
        assertThat(ok.status(), is(Status.OK_200));
        ClientResponseTyped<String> stale = client.put("/values/caskey").header(HeaderNames.IF_MATCH, etag)
                .submit("c", String.class);
        assertThat(stale.status(), is(Status.PRECONDITION_FAILED_412));
        // It names the current revision: a compare-and-set loop retries with it, without a GET.
        assertThat(stale.headers().first(HeaderNames.ETAG), is(ok.headers().first(HeaderNames.ETAG)));
        assertThat(stale.entity(), matchesPattern(
                "\\{\"error\":\"precondition_failed\",\"message\":\"[^\"]+\",\"support\":\"[0-9a-f]{16}\"}"));
        assertThat(client.get("/values/caskey").request(String.class).entity(), is("{\"key\":\"caskey\",\"value\":\"b\"}"));
    }

    /** A precondition on two header lines is a list, refused as on one line: the first alone is not what was sent. */
    @Test
    void aPreconditionHeaderSentTwiceIs400() {
        ClientResponseTyped<String> created = client.put("/values/twice-cas").submit("a", String.class);
        String etag = created.headers().first(HeaderNames.ETAG).orElseThrow();
        ClientResponseTyped<String> ifMatch = client.put("/values/twice-cas")
                .header(HeaderNames.IF_MATCH, etag, "\"999\"").submit("b", String.class);
        assertThat(ifMatch.status(), is(Status.BAD_REQUEST_400));
        assertThat(ifMatch.entity(), startsWith("{\"error\":\"bad_precondition\",\"message\":\"If-Match must be * or"
                                                + " one revision ETag such as \\\"7\\\"\""));
        // "0<revision>" is another tag than the key's, never the same one written differently.
        ClientResponseTyped<String> padded = client.put("/values/twice-cas")
                .header(HeaderNames.IF_MATCH, "\"0" + etag.substring(1)).submit("b", String.class);
        assertThat(padded.status(), is(Status.BAD_REQUEST_400));
        ClientResponseTyped<String> ifNoneMatch = client.put("/values/twice-none")
                .header(HeaderNames.IF_NONE_MATCH, "*", "*").submit("b", String.class);
        assertThat(ifNoneMatch.status(), is(Status.BAD_REQUEST_400));
        assertThat(client.get("/values/twice-cas").request(String.class).entity(),
                   is("{\"key\":\"twice-cas\",\"value\":\"a\"}"));
        assertThat(client.get("/values/twice-none").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void ifMatchOnMissingKeyIs412() {
        ClientResponseTyped<String> put = client.put("/values/nokey-cas").header(HeaderNames.IF_MATCH, "\"1\"")
                .submit("x", String.class);
        assertThat(put.status(), is(Status.PRECONDITION_FAILED_412));
        assertThat(put.headers().first(HeaderNames.ETAG).isPresent(), is(false));
        assertThat(client.get("/values/nokey-cas").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void ifMatchStarUpdatesOnlyAnExistingKey() {
        ClientResponseTyped<String> missing = client.put("/values/star-cas").header(HeaderNames.IF_MATCH, "*")
                .submit("x", String.class);
        assertThat(missing.status(), is(Status.PRECONDITION_FAILED_412));
        client.put("/values/star-cas").submit("first", String.class);
        ClientResponseTyped<String> existing = client.put("/values/star-cas").header(HeaderNames.IF_MATCH, "*")
                .submit("second", String.class);
        assertThat(existing.status(), is(Status.OK_200));
        assertThat(client.get("/values/star-cas").request(String.class).entity(),
                   is("{\"key\":\"star-cas\",\"value\":\"second\"}"));
    }

    @Test
    void ifNoneMatchStarCreatesOnlyOnce() {
        ClientResponseTyped<String> first = client.put("/values/createonly").header(HeaderNames.IF_NONE_MATCH, "*")
                .submit("one", String.class);
        ClientResponseTyped<String> second = client.put("/values/createonly").header(HeaderNames.IF_NONE_MATCH, "*")
                .submit("two", String.class);
        assertThat(first.status(), is(Status.OK_200));
        assertThat(second.status(), is(Status.PRECONDITION_FAILED_412));
        assertThat(client.get("/values/createonly").request(String.class).entity(),
                   is("{\"key\":\"createonly\",\"value\":\"one\"}"));
    }

    @Test
    void deleteWithStaleIfMatchIs412AndKeepsValue() {
        ClientResponseTyped<String> put = client.put("/values/delcas").submit("keep", String.class);
        long revision = Long.parseLong(put.headers().first(HeaderNames.ETAG).orElseThrow().replace("\"", ""));
        ClientResponseTyped<String> delete = client.delete("/values/delcas")
                .header(HeaderNames.IF_MATCH, "\"" + (revision + 1000) + "\"").request(String.class);
        assertThat(delete.status(), is(Status.PRECONDITION_FAILED_412));
        assertThat(client.get("/values/delcas").request(String.class).status(), is(Status.OK_200));
    }

    @Test
    void casRaceHasExactlyOneWinner() throws Exception {
        String etag = client.put("/values/race").submit("start", String.class)
                .headers().first(HeaderNames.ETAG).orElseThrow();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Callable<Status>> writers = List.of(
                    () -> client.put("/values/race").header(HeaderNames.IF_MATCH, etag).submit("A", String.class).status(),
                    () -> client.put("/values/race").header(HeaderNames.IF_MATCH, etag).submit("B", String.class).status());
            List<Integer> statuses = threads.invokeAll(writers).stream().map(f -> get(f).code()).sorted().toList();
            assertThat(statuses, is(List.of(200, 412)));
        }
    }

    @Test
    void listIsSortedPaginatedAndConsistent() {
        for (String k : List.of("list-c", "list-a", "list-b", "other")) {
            client.put("/values/" + k).submit("v-" + k, String.class);
        }
        ClientResponseTyped<String> page1 = client.get("/values").queryParam("prefix", "list-")
                .queryParam("limit", "2").request(String.class);
        long revision = probe().revision();
        assertThat(page1.status(), is(Status.OK_200));
        long revA = probe().value("list-a").orElseThrow().modRevision();
        long revB = probe().value("list-b").orElseThrow().modRevision();
        long revC = probe().value("list-c").orElseThrow().modRevision();
        assertThat(page1.entity(), is("{\"revision\":" + revision + ",\"values\":["
                                      + "{\"key\":\"list-a\",\"value\":\"v-list-a\",\"revision\":" + revA + "},"
                                      + "{\"key\":\"list-b\",\"value\":\"v-list-b\",\"revision\":" + revB + "}],"
                                      + "\"next\":\"list-b\"}"));
        ClientResponseTyped<String> page2 = client.get("/values").queryParam("prefix", "list-")
                .queryParam("limit", "2").queryParam("after", "list-b").request(String.class);
        assertThat(page2.entity(), is("{\"revision\":" + revision + ",\"values\":["
                                      + "{\"key\":\"list-c\",\"value\":\"v-list-c\",\"revision\":" + revC + "}]}"));
    }

    @Test
    void listWithBadLimitIs400() {
        for (String bad : List.of("0", "1001", "-1", "+5", "5.0", "", "99999999999")) {
            ClientResponseTyped<String> res = client.get("/values").queryParam("limit", bad).request(String.class);
            assertThat(bad, res.status(), is(Status.BAD_REQUEST_400));
            assertThat(bad, res.entity(), containsString("\"error\":\"bad_limit\""));
        }
    }

    @Test
    void keyIsPercentDecodedUtf8() throws Exception {
        // The JDK client sends the path exactly as written; Helidon's would encode the '%' again.
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> put = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/values/caf%C3%A9%20au%20lait"))
                            .PUT(HttpRequest.BodyPublishers.ofString("☕")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode(), is(200));
        }
        assertThat(probe().value("café au lait").orElseThrow().value(), is("☕"));
    }

    private static Status get(Future<Status> f) {
        try {
            return f.get();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
