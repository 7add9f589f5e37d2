package io.kvstream.api;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.kvstream.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/** With {@code kvstream.auth.protect-reads}, reads of values need a token with the read scope too. */
class ProtectedReadsTest {
    private static final String SECRET = "another-test-secret-long-enough-for-hs256";
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestNode node;

    @BeforeAll
    static void start() {
        node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("reads"),
                                                    TestServices.uniqueName("reads"))
                                      .withAuth(new Settings.Auth(SECRET, "", "", Duration.ofSeconds(5), true)));
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
    void readsNeedATokenWithTheReadScope() throws Exception {
        assertThat(status("PUT", "/values/guarded", token(Authenticator.WRITE), "v"), is(200));

        assertThat(status("GET", "/values/guarded", null, null), is(401));
        assertThat(status("GET", "/values?prefix=g", null, null), is(401));
        assertThat(status("GET", "/values/guarded", token(Authenticator.WRITE), null), is(403));
        assertThat(status("GET", "/values/guarded", token(Authenticator.READ), null), is(200));
        assertThat(status("GET", "/values?prefix=g", token(Authenticator.READ), null), is(200));
    }

}
