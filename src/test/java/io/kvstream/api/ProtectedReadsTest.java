package io.kvstream.api;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** With {@code kvstream.auth.protect-reads}, reads of values and the event stream need a read token too. */
class ProtectedReadsTest {
    private static final String SECRET = "another-test-secret-long-enough-for-hs256";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestNode node;

    @BeforeAll
    static void start() {
        node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("reads"),
                                                    TestServices.uniqueName("reads"))
                                      .toBuilder().auth(new Settings.Auth(SECRET, "", "", Duration.ofSeconds(5), true, false, false)).build());
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static String token(String scope) {
        return "Bearer " + JWT.create().withClaim("scope", scope).withExpiresAt(Instant.now().plusSeconds(60))
                .sign(Algorithm.HMAC256(SECRET));
    }

    private static int status(String method, String path, String authorization, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(node.uri(path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void eventStreamNeedsAReadTokenAsHeaderOrAccessTokenParameter() {
        String read = token(Authenticator.READ);
        CompletionException refused = assertThrows(CompletionException.class,
                () -> WsClient.connect(WsClient.events(node.port(), ""), true, Map.of()));
        assertThat(refused.getCause() instanceof WebSocketHandshakeException, is(true));
        assertThrows(CompletionException.class, () -> WsClient.connect(
                WsClient.events(node.port(), ""), true, Map.of("Authorization", token(Authenticator.WRITE))));

        try (WsClient withHeader = WsClient.connect(WsClient.events(node.port(), ""), true,
                                                    Map.of("Authorization", read));
             WsClient withParameter = WsClient.connect(
                     WsClient.events(node.port(), "access_token=" + read.substring("Bearer ".length())))) {
            await().until(() -> !withHeader.openedIds().isEmpty() && !withParameter.openedIds().isEmpty());
        }
    }

    /** A refused upgrade of {@code /events} is answered like a refused read of the HTTP API: 401 with a challenge. */
    @Test
    void eventStreamUpgradeWithoutAValidTokenIs401WithAChallenge() throws Exception {
        for (String[] attempt : new String[][] {{"", ""}, {"?access_token=not-a-jwt", ""},
                                                {"", "Authorization: Bearer not-a-jwt\r\n"}}) {
            RawHttp.Response refused = RawHttp.send(node.port(), RawHttp.upgrade("/events" + attempt[0], attempt[1]));
            assertThat(refused.toString(), refused.status(), is(401));
            assertThat(refused.header("WWW-Authenticate").orElseThrow(),
                       is("Bearer realm=\"kvstream\", error=\"invalid_token\""));
            assertThat(refused.header("Content-Type").orElseThrow(), startsWith("application/json"));
            assertThat(refused.body(), startsWith("{\"error\":\""));
        }
        RawHttp.Response writeOnly = RawHttp.send(node.port(), RawHttp.upgrade(
                "/events", "Authorization: " + token(Authenticator.WRITE) + "\r\n"));
        assertThat(writeOnly.status(), is(403));
        assertThat(writeOnly.body(), startsWith("{\"error\":\"forbidden\""));
    }

    /** A refused {@code /events} request that says {@code Connection: close} ends its connection: nothing behind it is served. */
    @Test
    void aRefusedEventStreamRequestWithConnectionCloseEndsTheConnection() throws Exception {
        for (String refusedRequest : List.of(
                "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
                "HEAD /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
                RawHttp.upgrade("/events", "").replace("Connection: Upgrade\r\n", "Connection: Upgrade, close\r\n"))) {
            String answers = RawHttp.sendKeepingOpen(node.port(), refusedRequest
                                                                  + "GET /values/behind HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(answers, answers.split("HTTP/1.1 ", -1).length - 1, is(1));
            assertThat(answers, answers, startsWith("HTTP/1.1 401 "));
        }
    }

    /** The landing page shows values: it needs a read token too, as a header or as ?access_token=. */
    @Test
    void landingPageNeedsAReadToken() throws Exception {
        assertThat(status("PUT", "/values/on-page", token(Authenticator.WRITE), "secret-value"), is(200));
        String read = token(Authenticator.READ);

        assertThat(status("GET", "/", null, null), is(401));
        assertThat(status("GET", "/?access_token=not-a-jwt", null, null), is(401));
        assertThat(status("GET", "/", token(Authenticator.WRITE), null), is(403));
        assertThat(status("GET", "/", read, null), is(200));
        HttpResponse<String> page = HTTP.send(HttpRequest.newBuilder(
                node.uri("/?access_token=" + read.substring("Bearer ".length()))).build(),
                                              HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode(), is(200));
        assertThat(page.body().contains("secret-value"), is(true));
    }

    @Test
    void readsNeedATokenWithTheReadScope() throws Exception {
        assertThat(status("PUT", "/values/guarded", token(Authenticator.WRITE), "v"), is(200));

        assertThat(status("GET", "/values/guarded", null, null), is(401));
        assertThat(status("GET", "/values?prefix=g", null, null), is(401));
        assertThat(status("GET", "/values/guarded", token(Authenticator.WRITE), null), is(403));
        assertThat(status("GET", "/values/guarded", token(Authenticator.READ), null), is(200));
        assertThat(status("GET", "/values?prefix=g", token(Authenticator.READ), null), is(200));
    }

}
