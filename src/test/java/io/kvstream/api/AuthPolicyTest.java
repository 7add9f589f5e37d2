package io.kvstream.api;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/** {@code kvstream.auth.require-scope} and {@code require-expiry}: a token must say what it may do, and until when. */
class AuthPolicyTest {
    private static final String SECRET = "policy-secret-that-is-long-enough-for-hs256";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestNode node;

    @BeforeAll
    static void start() {
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("policy"),
                                                  TestServices.uniqueName("policy"));
        node = TestNode.start(settings.toBuilder()
                                      .auth(new Settings.Auth(SECRET, "", "", Duration.ofSeconds(5), false, true, true))
                                      .build());
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static HttpResponse<String> put(String key, String token) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(node.uri("/values/" + key))
                                 .header("Authorization", "Bearer " + token)
                                 .PUT(HttpRequest.BodyPublishers.ofString("v")).build(),
                         HttpResponse.BodyHandlers.ofString());
    }

    private static long inFiveMinutes() {
        return Instant.now().plusSeconds(300).getEpochSecond();
    }

    @Test
    void aTokenWithoutScopeMayNotWrite() throws Exception {
        HttpResponse<String> res = put("policy-unscoped", Tokens.hs256(SECRET, "{\"exp\":" + inFiveMinutes() + "}"));
        assertThat(res.statusCode(), is(403));
        assertThat(res.body(), containsString("\"error\":\"forbidden\""));
        assertThat(node.value("policy-unscoped").isPresent(), is(false));
    }

    @Test
    void aTokenWithoutExpiryIsRefused() throws Exception {
        HttpResponse<String> res = put("policy-forever",
                                       Tokens.hs256(SECRET, "{\"scope\":\"" + Authenticator.WRITE + "\"}"));
        assertThat(res.statusCode(), is(401));
        assertThat(res.headers().firstValue("WWW-Authenticate").orElseThrow(), containsString("Bearer"));
        assertThat(node.value("policy-forever").isPresent(), is(false));
    }

    @Test
    void aScopedExpiringTokenWrites() throws Exception {
        HttpResponse<String> res = put("policy-ok", Tokens.hs256(
                SECRET, "{\"scope\":\"" + Authenticator.WRITE + "\",\"exp\":" + inFiveMinutes() + "}"));
        assertThat(res.statusCode(), is(200));
    }
}
