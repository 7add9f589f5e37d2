package io.kvstream.api;

import java.time.Duration;
import java.util.Map;

import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tokens;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code kvstream.cors.allowed-origins}: preflights, and the CORS headers on successful and failed answers, exactly;
 * a node with the default configuration sends none.
 */
class CorsTest {
    static final String APP = "http://app.example:3000";
    static final String WS_APP = "https://ws-only.example";
    static final String SECRET = "a-cors-test-secret-long-enough-for-hs256";
    static final String EXPOSED = "ETag, Retry-After, WWW-Authenticate";
    static final String ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, "
                                          + "Last-Event-ID, Prefer";
    private static TestNode node;
    private static TestNode plain;

    @BeforeAll
    static void start() {
        node = TestNode.start(withCors(settings("cors"), APP + ", https://other.example")
                                      .toBuilder()
                                      .auth(new Settings.Auth(SECRET, "", "", Duration.ofSeconds(5), false, false,
                                                              false))
                                      .build());
        plain = TestNode.start(settings("nocors"));
    }

    @AfterAll
    static void stop() {
        node.close();
        plain.close();
    }

    static Settings settings(String name) {
        return TestServices.settings(Settings.Role.ALL, TestServices.uniqueName(name), TestServices.uniqueName(name));
    }

    /** The settings with these CORS origins, and {@link #WS_APP} allowed on the WebSocket. */
    static Settings withCors(Settings settings, String origins) {
        Settings.Ws ws = settings.ws();
        return settings.toBuilder()
                .cors(new Settings.Cors(Settings.commaSeparated(origins)))
                .ws(new Settings.Ws(ws.queueSize(), ws.maxBufferedBytes(), ws.maxTotalBufferedBytes(), ws.maxReplays(), ws.heartbeat(), WS_APP))
                .build();
    }

    static String writeToken() {
        return "Bearer " + Tokens.hs256(SECRET, "{\"scope\":\"" + Authenticator.WRITE + "\"}");
    }

    static RawHttp.Response send(TestNode target, String method, String path, String headers, String body)
            throws Exception {
        return RawHttp.send(target.port(), method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                           + headers + "Content-Length: " + body.length() + "\r\n\r\n" + body);
    }

    static RawHttp.Response preflight(String path, String origin, String method, String requestHeaders)
            throws Exception {
        return send(node, "OPTIONS", path, "Origin: " + origin + "\r\nAccess-Control-Request-Method: " + method + "\r\n"
                                           + (requestHeaders == null ? ""
                                                   : "Access-Control-Request-Headers: " + requestHeaders + "\r\n"), "");
    }

    /** Exactly the CORS headers of an allowed actual request, whatever its status. */
    static void assertCorsHeaders(RawHttp.Response response) {
        assertThat(response.toString(), response.header("Access-Control-Allow-Origin").orElse(null), is(APP));
        assertThat(response.toString(), response.header("Access-Control-Expose-Headers").orElse(null), is(EXPOSED));
        assertThat(response.toString(), response.header("Vary").orElse(null), is("Origin"));
        assertThat(response.toString(), response.header("Access-Control-Allow-Methods").isPresent(), is(false));
    }

    static void assertNoCorsHeaders(RawHttp.Response response) {
        response.headers().keySet().forEach(name -> assertThat(response.toString(), name.startsWith("access-control-"),
                                                                is(false)));
    }

    /** Browsers join the requested header names with a bare comma, lowercase and sorted (Fetch standard). */
    @Test
    void preflightOfAWriteListsTheMethodsAndTheApiRequestHeaders() throws Exception {
        String headers = "authorization,content-type,idempotency-key,if-match,if-none-match,prefer";

        RawHttp.Response response = preflight("/values/k", APP, "PUT", headers);

        assertThat(response.toString(), response.status(), is(200));
        assertThat(response.header("Access-Control-Allow-Origin").orElse(null), is(APP));
        assertThat(response.header("Access-Control-Allow-Methods").orElse(null), is("GET, HEAD, PUT, DELETE"));
        assertThat(response.header("Access-Control-Allow-Headers").orElse(null), is(ALLOWED_HEADERS));
        assertThat(response.header("Access-Control-Max-Age").orElse(null), is("3600"));
        assertThat(response.header("Vary").orElse(null), is("Origin"));
        assertThat(response.header("Access-Control-Expose-Headers").isPresent(), is(false));
    }

    @Test
    void preflightsOfTheTransactionAndTheEventStreamListTheirMethods() throws Exception {
        RawHttp.Response txn = preflight("/txn", APP, "POST", "content-type,authorization,idempotency-key");
        assertThat(txn.toString(), txn.status(), is(200));
        assertThat(txn.header("Access-Control-Allow-Origin").orElse(null), is(APP));
        assertThat(txn.header("Access-Control-Allow-Methods").orElse(null), is("POST"));

        RawHttp.Response events = preflight("/events?prefix=user:", APP, "GET", "authorization,last-event-id");
        assertThat(events.toString(), events.status(), is(200));
        assertThat(events.header("Access-Control-Allow-Origin").orElse(null), is(APP));
        assertThat(events.header("Access-Control-Allow-Methods").orElse(null), is("GET, HEAD"));
        assertThat(events.header("Access-Control-Allow-Headers").orElse(null), is(ALLOWED_HEADERS));

        RawHttp.Response list = preflight("/values?prefix=a", APP, "GET", null);
        assertThat(list.toString(), list.status(), is(200));
        assertThat(list.header("Access-Control-Allow-Origin").orElse(null), is(APP));
    }

    @Test
    void preflightFromAnotherOriginOrForAnotherMethodOrHeaderIs403WithoutCorsHeaders() throws Exception {
        for (RawHttp.Response refused : new RawHttp.Response[] {
                preflight("/values/k", "http://evil.example", "PUT", "if-match"),
                preflight("/values/k", "http://app.example", "PUT", null),
                preflight("/values/k", APP, "PATCH", null),
                preflight("/values/k", APP, "PUT", "if-match,x-custom"),
                preflight("/values/k", APP, "PUT", "x-custom"),
                preflight("/txn", APP, "PUT", null),
                preflight("/", APP, "GET", null)}) {
            assertThat(refused.toString(), refused.status(), is(403));
            assertNoCorsHeaders(refused);
        }
    }

    @Test
    void successfulAnswersCarryTheCorsHeadersAndExposeTheETag() throws Exception {
        RawHttp.Response put = send(node, "PUT", "/values/cors-ok", "Origin: " + APP + "\r\nAuthorization: "
                                                                     + writeToken() + "\r\n", "v1");
        assertThat(put.toString(), put.status(), is(200));
        assertCorsHeaders(put);
        assertThat(put.header("ETag").orElse(null), startsWith("\""));

        RawHttp.Response get = send(node, "GET", "/values/cors-ok", "Origin: " + APP + "\r\n", "");
        assertThat(get.status(), is(200));
        assertCorsHeaders(get);
        assertThat(get.header("ETag"), is(put.header("ETag")));
    }

    /** A HEAD of the event stream from an allowed origin gets what its GET gets, without the stream. */
    @Test
    void aHeadOfTheEventStreamFromAnAllowedOriginIsAnsweredAsItsGet() throws Exception {
        RawHttp.Response head = send(node, "HEAD", "/events", "Origin: " + APP + "\r\nAccept: text/event-stream\r\n", "");
        assertThat(head.toString(), head.status(), is(200));
        assertThat(head.header("Content-Type").orElse(null), is("text/event-stream"));
        assertCorsHeaders(head);
        assertThat(head.body(), is(""));
    }

    @Test
    void errorAnswersCarryTheCorsHeadersToo() throws Exception {
        String origin = "Origin: " + APP + "\r\n";
        RawHttp.Response unauthorized = send(node, "PUT", "/values/cors-401", origin, "v");
        assertThat(unauthorized.toString(), unauthorized.status(), is(401));
        assertCorsHeaders(unauthorized);
        assertThat(unauthorized.header("WWW-Authenticate").orElse(null), startsWith("Bearer realm=\"kvstream\""));
        assertThat(unauthorized.body(), startsWith("{\"error\":\"unauthorized\""));

        RawHttp.Response notFound = send(node, "GET", "/values/cors-missing", origin, "");
        assertThat(notFound.status(), is(404));
        assertCorsHeaders(notFound);

        String token = "Authorization: " + writeToken() + "\r\n";
        RawHttp.Response failed = send(node, "PUT", "/values/cors-412", origin + token + "If-Match: \"999999\"\r\n", "v");
        assertThat(failed.toString(), failed.status(), is(412));
        assertCorsHeaders(failed);
        assertThat(failed.body(), startsWith("{\"error\":\"precondition_failed\""));

        RawHttp.Response wrongMethod = send(node, "POST", "/values", origin, "");
        assertThat(wrongMethod.toString(), wrongMethod.status(), is(403));
        assertNoCorsHeaders(wrongMethod);

        RawHttp.Response streamRefused = send(node, "GET", "/events", origin, "");
        assertThat(streamRefused.toString(), streamRefused.header("Access-Control-Allow-Origin").orElse(null), is(APP));
    }

    /** The database is down: the 503 with Retry-After is readable by the app too. */
    @Test
    void unavailableAnswerCarriesTheCorsHeadersAndExposesRetryAfter() throws Exception {
        Settings settings = settings("cors503");
        try (TcpProxy database = TcpProxy.toDatabase(settings.db().url())) {
            Settings.Db db = settings.db();
            Settings proxied = settings.toBuilder()
                    .db(db.withUrl(database.jdbcUrl(db.url()), db.username(), db.password()))
                    .build();
            try (TestNode cut = TestNode.start(withCors(proxied, APP))) {
                database.stop();

                await().atMost(Duration.ofSeconds(20)).until(
                        () -> send(cut, "PUT", "/values/cors-503", "Origin: " + APP + "\r\n", "v").status() == 503);
                RawHttp.Response unavailable = send(cut, "PUT", "/values/cors-503", "Origin: " + APP + "\r\n", "v");

                assertThat(unavailable.status(), is(503));
                assertCorsHeaders(unavailable);
                assertThat(unavailable.header("Retry-After").orElse(null), is("1"));
                assertThat(unavailable.body(), startsWith("{\"error\":\"unavailable\""));
            }
        }
    }

    @Test
    void anotherOriginGetsA403AndNoCorsHeaders() throws Exception {
        RawHttp.Response refused = send(node, "GET", "/values/cors-ok", "Origin: http://evil.example\r\n", "");

        assertThat(refused.toString(), refused.status(), is(403));
        assertNoCorsHeaders(refused);
    }

    @Test
    void requestsWithoutOriginAndTheLandingPageGetNoCorsHeaders() throws Exception {
        assertNoCorsHeaders(send(node, "GET", "/values/cors-ok", "", ""));
        RawHttp.Response page = send(node, "GET", "/", "Origin: " + APP + "\r\n", "");
        assertThat(page.status(), is(200));
        assertNoCorsHeaders(page);
    }

    /** An origin of {@code kvstream.ws.allowed-origins} may still open the WebSocket when CORS is on. */
    @Test
    void anOriginAllowedOnTheWebSocketStillUpgrades() {
        try (WsClient allowed = WsClient.connect(WsClient.events(node.port(), ""), true, Map.of("Origin", WS_APP))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !allowed.openedIds().isEmpty());
        }
    }

    @Test
    void byDefaultNoCorsHeadersAreSent() throws Exception {
        RawHttp.Response get = send(plain, "GET", "/values/anything", "Origin: " + APP + "\r\n", "");
        assertThat(get.status(), is(404));
        assertNoCorsHeaders(get);

        RawHttp.Response preflight = send(plain, "OPTIONS", "/values/k", "Origin: " + APP + "\r\n"
                                                                         + "Access-Control-Request-Method: PUT\r\n", "");
        assertThat(preflight.toString(), preflight.status(), is(405));
        assertNoCorsHeaders(preflight);
    }
}
