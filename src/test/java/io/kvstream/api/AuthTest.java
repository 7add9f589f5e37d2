package io.kvstream.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.ClientResponseTyped;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.testing.junit5.ServerTest;
import io.helidon.webserver.testing.junit5.SetUpServer;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.role.RunningRole;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tokens;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/** With a JWT secret configured, writes need a valid bearer token; reads stay open. */
@ServerTest
class AuthTest {
    private static final String SECRET = "test-secret-that-is-long-enough-for-hs256";
    private static RunningRole app;
    private final Http1Client client;

    AuthTest(Http1Client client) {
        this.client = client;
    }

    @SetUpServer
    static void server(WebServerConfig.Builder server) {
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("auth"),
                                                  TestServices.uniqueName("auth"))
                .toBuilder().auth(new Settings.Auth(SECRET, "kvstream-tests", "kvstream", Duration.ofSeconds(5), false, false, false)).build();
        app = RunningRole.start(settings);
        app.configure(server);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private static JWTCreator.Builder token() {
        return JWT.create().withIssuer("kvstream-tests").withAudience("kvstream")
                .withExpiresAt(Instant.now().plusSeconds(300));
    }

    private ClientResponseTyped<String> put(String key, String authorization) {
        var request = client.put("/values/" + key);
        if (authorization != null) {
            request.header(HeaderNames.AUTHORIZATION, authorization);
        }
        return request.submit("v", String.class);
    }

    @Test
    void writeWithValidTokenSucceeds() {
        assertThat(put("auth-ok", "Bearer " + token().sign(Algorithm.HMAC256(SECRET))).status(), is(Status.OK_200));
    }

    @Test
    void writeWithoutTokenIs401WithChallengeAndStoresNothing() {
        ClientResponseTyped<String> res = put("auth-none", null);
        assertThat(res.status(), is(Status.UNAUTHORIZED_401));
        assertThat(res.headers().first(HeaderNames.WWW_AUTHENTICATE).orElseThrow(), startsWith("Bearer"));
        assertThat(client.get("/values/auth-none").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void expiredTokenIs401() {
        String expired = token().withExpiresAt(Instant.now().minusSeconds(60)).sign(Algorithm.HMAC256(SECRET));
        ClientResponseTyped<String> res = put("auth-expired", "Bearer " + expired);
        assertThat(res.status(), is(Status.UNAUTHORIZED_401));
        assertThat(res.entity().contains("\"error\":\"token_expired\""), is(true));
    }

    @Test
    void tokenWithinClockSkewIsAccepted() {
        String justExpired = token().withExpiresAt(Instant.now().minusSeconds(2)).sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-skew", "Bearer " + justExpired).status(), is(Status.OK_200));
    }

    @Test
    void notYetValidTokenIs401() {
        String future = token().withNotBefore(Instant.now().plusSeconds(120)).sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-nbf", "Bearer " + future).status(), is(Status.UNAUTHORIZED_401));
    }

    @Test
    void wrongSignatureIssuerOrAudienceIs401() {
        assertThat(put("auth-sig", "Bearer " + token().sign(Algorithm.HMAC256("another-secret-another-secret!!")))
                           .status(), is(Status.UNAUTHORIZED_401));
        assertThat(put("auth-iss", "Bearer " + token().withIssuer("evil").sign(Algorithm.HMAC256(SECRET)))
                           .status(), is(Status.UNAUTHORIZED_401));
        assertThat(put("auth-aud", "Bearer " + token().withAudience("other").sign(Algorithm.HMAC256(SECRET)))
                           .status(), is(Status.UNAUTHORIZED_401));
    }

    @Test
    void malformedAuthorizationIs401() {
        for (String header : new String[] {"Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer a.b",
                                           "Bearer " + "x".repeat(5000)}) {
            assertThat(header, put("auth-bad", header).status(), is(Status.UNAUTHORIZED_401));
        }
        assertThat(client.get("/values/auth-bad").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void tokenWithoutWriteScopeIs403() {
        String readOnly = token().withClaim("scope", Authenticator.READ).sign(Algorithm.HMAC256(SECRET));
        ClientResponseTyped<String> res = put("auth-scope", "Bearer " + readOnly);
        assertThat(res.status(), is(Status.FORBIDDEN_403));
        String writer = token().withClaim("scope", Authenticator.READ + " " + Authenticator.WRITE)
                .sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-scope", "Bearer " + writer).status(), is(Status.OK_200));
    }

    @Test
    void scopeAsAnArrayOfStringsIsHonoured() {
        String readOnly = token().withClaim("scope", List.of(Authenticator.READ)).sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-array", "Bearer " + readOnly).status(), is(Status.FORBIDDEN_403));
        String writer = token().withClaim("scope", List.of(Authenticator.READ, Authenticator.WRITE))
                .sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-array", "Bearer " + writer).status(), is(Status.OK_200));
    }

    @Test
    void scopeOfAnyOtherTypeIs401AndStoresNothing() {
        for (String scope : List.of("{\"kvstream:write\":true}", "7", "null", "true", "[\"kvstream:write\",1]")) {
            ClientResponseTyped<String> res = put("auth-scope-type", "Bearer " + signed(claims("\"scope\":" + scope)));
            assertThat(scope, res.status(), is(Status.UNAUTHORIZED_401));
            assertThat(scope, res.entity(), containsString("\"error\":\"invalid_token\""));
        }
        assertThat(client.get("/values/auth-scope-type").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    @Test
    void registeredClaimsOfTheWrongTypeAre401() {
        for (String claim : List.of("\"exp\":\"tomorrow\"", "\"nbf\":\"now\"", "\"exp\":true", "\"iss\":5",
                                    "\"aud\":{\"x\":1}", "\"iat\":\"yesterday\"", "\"exp\":null", "\"nbf\":null",
                                    "\"iat\":null")) {
            String json = claims(claim);
            assertThat(json, put("auth-claim-type", "Bearer " + signed(json)).status(), is(Status.UNAUTHORIZED_401));
        }
        assertThat(client.get("/values/auth-claim-type").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    /** A token naming critical header extensions is refused: this server understands none (RFC 7515 §4.1.11). */
    @Test
    void aTokenWithCriticalExtensionsIs401() {
        String token = JWT.create().withIssuer("kvstream-tests").withAudience("kvstream")
                .withExpiresAt(Instant.now().plusSeconds(300))
                .withHeader(Map.of("crit", List.of("exp-ext"), "exp-ext", true))
                .sign(Algorithm.HMAC256(SECRET));
        assertThat(put("auth-crit", "Bearer " + token).status(), is(Status.UNAUTHORIZED_401));
        assertThat(client.get("/values/auth-crit").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    /** Two Authorization headers are refused, whichever comes first: a proxy may have checked the other one. */
    @Test
    void twoAuthorizationHeadersAre400() {
        String valid = "Bearer " + token().sign(Algorithm.HMAC256(SECRET));
        for (List<String> headers : List.of(List.of(valid, "Bearer junk"), List.of("Bearer junk", valid))) {
            var response = client.put("/values/auth-twice")
                    .header(HeaderNames.AUTHORIZATION, headers.get(0), headers.get(1))
                    .submit("v", String.class);
            assertThat(response.status(), is(Status.BAD_REQUEST_400));
            assertThat(response.entity(), startsWith("{\"error\":\"invalid_request\",\"message\":\"Send one Authorization"
                                                     + " header\""));
        }
        assertThat(client.get("/values/auth-twice").request(String.class).status(), is(Status.NOT_FOUND_404));
    }

    /** This test's valid issuer, audience and expiry, with {@code claim} replacing or adding one member. */
    private static String claims(String claim) {
        String name = claim.substring(0, claim.indexOf(':'));
        StringBuilder json = new StringBuilder("{");
        for (String member : List.of("\"iss\":\"kvstream-tests\"", "\"aud\":\"kvstream\"",
                                     "\"exp\":" + Instant.now().plusSeconds(300).getEpochSecond())) {
            if (!member.startsWith(name + ":")) {
                json.append(member).append(',');
            }
        }
        return json.append(claim).append('}').toString();
    }

    private static String signed(String payloadJson) {
        return Tokens.hs256(SECRET, payloadJson);
    }

    @Test
    void deleteNeedsATokenToo() {
        assertThat(client.delete("/values/anything").request(String.class).status(), is(Status.UNAUTHORIZED_401));
    }

    @Test
    void readsStayOpen() {
        put("auth-read", "Bearer " + token().sign(Algorithm.HMAC256(SECRET)));
        assertThat(client.get("/values/auth-read").request(String.class).status(), is(Status.OK_200));
    }
}
