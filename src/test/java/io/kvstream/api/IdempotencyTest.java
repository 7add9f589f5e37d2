package io.kvstream.api;

import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.ClientResponseTyped;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webclient.http1.Http1ClientRequest;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.testing.junit5.ServerTest;
import io.helidon.webserver.testing.junit5.SetUpServer;
import io.kvstream.config.Settings;
import io.kvstream.role.RunningRole;
import io.kvstream.testing.HttpProbe;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code Idempotency-Key} on PUT and DELETE (IETF httpapi idempotency-key draft), through real HTTP against real
 * PostgreSQL and AMQP: a retry of the same request gets the first answer and writes nothing; the same key on another
 * request is refused with 422; a malformed key with 400.
 * <pre>
 * curl -X PUT -H 'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"' -H 'If-None-Match: *' localhost:8080/values/k -d v
 * </pre>
 */
@ServerTest
class IdempotencyTest {
    private static final HeaderName IDEMPOTENCY_KEY = HeaderNames.create("Idempotency-Key");
    private static RunningRole app;
    private final Http1Client client;
    private final int port;

    IdempotencyTest(Http1Client client, WebServer server) {
        this.client = client;
        this.port = server.port();
    }

    @SetUpServer
    static void server(WebServerConfig.Builder server) {
        app = RunningRole.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("idem"),
                                                   TestServices.uniqueName("idem")));
        app.configure(server);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private HttpProbe probe() {
        return new HttpProbe(port);
    }

    private static String newKey() {
        return UUID.randomUUID().toString();
    }

    private Http1ClientRequest put(String key, String idempotencyKey) {
        return client.put("/values/" + key).header(IDEMPOTENCY_KEY, idempotencyKey);
    }

    @Test
    void retriedPutGetsTheFirstAnswerAndWritesNothingMore() {
        String idem = newKey();
        ClientResponseTyped<String> first = put("retried", idem).submit("first", String.class);
        assertThat(first.status(), is(Status.OK_200));
        long revision = probe().value("retried").orElseThrow().modRevision();
        assertThat(client.put("/values/retried").submit("someone else's", String.class).status(), is(Status.OK_200));
        long before = probe().revision();

        ClientResponseTyped<String> retry = put("retried", idem).submit("first", String.class);

        assertThat(retry.status(), is(Status.OK_200));
        assertThat(retry.entity(), is("{\"key\":\"retried\",\"value\":\"first\",\"message\":\"OK\",\"revision\":"
                                      + revision + "}"));
        assertThat(retry.entity(), is(first.entity()));
        assertThat(retry.headers().first(HeaderNames.ETAG).orElseThrow(), is("\"" + revision + "\""));
        assertThat(probe().revision(), is(before));
        assertThat(probe().value("retried").orElseThrow().value(), is("someone else's"));
    }

    @Test
    void retriedCreateOnlyPutIsNotRefusedByItsOwnWrite() {
        String idem = newKey();
        ClientResponseTyped<String> first = put("created", idem).header(HeaderNames.IF_NONE_MATCH, "*")
                .submit("mine", String.class);
        ClientResponseTyped<String> retry = put("created", idem).header(HeaderNames.IF_NONE_MATCH, "*")
                .submit("mine", String.class);

        assertThat(first.status(), is(Status.OK_200));
        assertThat(retry.status(), is(Status.OK_200));
        assertThat(retry.entity(), is(first.entity()));
        // Without the key, the same request is a new one, and the key exists now.
        assertThat(client.put("/values/created").header(HeaderNames.IF_NONE_MATCH, "*").submit("mine", String.class)
                           .status(), is(Status.PRECONDITION_FAILED_412));
    }

    @Test
    void aRefusalIsRepeatedTooEvenWhenThePreconditionWouldHoldNow() {
        String idem = newKey();
        ClientResponseTyped<String> first = put("late", idem).header(HeaderNames.IF_MATCH, "*").submit("x", String.class);
        assertThat(first.status(), is(Status.PRECONDITION_FAILED_412));
        assertThat(client.put("/values/late").submit("exists now", String.class).status(), is(Status.OK_200));

        ClientResponseTyped<String> retry = put("late", idem).header(HeaderNames.IF_MATCH, "*").submit("x", String.class);

        assertThat(retry.status(), is(Status.PRECONDITION_FAILED_412));
        assertThat(probe().value("late").orElseThrow().value(), is("exists now"));
    }

    @Test
    void retriedDeleteAnswersOneWithTheFirstRevision() {
        assertThat(client.put("/values/deleted").submit("v", String.class).status(), is(Status.OK_200));
        String idem = newKey();
        ClientResponseTyped<String> first = client.delete("/values/deleted").header(IDEMPOTENCY_KEY, idem)
                .request(String.class);
        long revision = probe().revision();
        ClientResponseTyped<String> retry = client.delete("/values/deleted").header(IDEMPOTENCY_KEY, idem)
                .request(String.class);

        assertThat(first.status(), is(Status.OK_200));
        assertThat(first.entity(), is("{\"key\":\"deleted\",\"message\":\"1\",\"revision\":" + revision + "}"));
        assertThat(retry.status(), is(Status.OK_200));
        assertThat(retry.entity(), is(first.entity()));
        assertThat(probe().revision(), is(revision));
    }

    @Test
    void theSameKeyOnAnotherRequestIsRefusedWith422() {
        String idem = newKey();
        assertThat(put("reused", idem).submit("one", String.class).status(), is(Status.OK_200));
        long revision = probe().revision();

        ClientResponseTyped<String> otherBody = put("reused", idem).submit("two", String.class);
        ClientResponseTyped<String> otherKey = put("reused-elsewhere", idem).submit("one", String.class);
        ClientResponseTyped<String> otherPrecondition = put("reused", idem).header(HeaderNames.IF_NONE_MATCH, "*")
                .submit("one", String.class);
        ClientResponseTyped<String> otherMethod = client.delete("/values/reused").header(IDEMPOTENCY_KEY, idem)
                .request(String.class);

        for (ClientResponseTyped<String> refused : java.util.List.of(otherBody, otherKey, otherPrecondition, otherMethod)) {
            assertThat(refused.entity(), refused.status().code(), is(422));
            assertThat(refused.headers().first(HeaderNames.CONTENT_TYPE).orElseThrow(), startsWith("application/json"));
            assertThat(Json.read(refused.entity(), JsonNode.class).path("error").asText(), is("idempotency_key_reused"));
        }
        assertThat(probe().revision(), is(revision));
        assertThat(probe().value("reused").orElseThrow().value(), is("one"));
        assertThat(probe().value("reused-elsewhere").isPresent(), is(false));
    }

    @Test
    void theKeyMayBeAStructuredFieldStringOrBare() {
        String idem = newKey();
        ClientResponseTyped<String> quoted = put("quoted", "\"" + idem + "\"").submit("q", String.class);
        ClientResponseTyped<String> bare = put("quoted", idem).submit("q", String.class);

        assertThat(quoted.status(), is(Status.OK_200));
        assertThat(bare.entity(), is(quoted.entity()));
    }

    @Test
    void aMalformedKeyIs400AndWritesNothing() {
        long revision = probe().revision();
        for (String malformed : new String[] {"", "\"\"", "x".repeat(256), "has space", "\"unterminated", "tab\there"}) {
            ClientResponseTyped<String> put = put("malformed", malformed).submit("v", String.class);
            assertThat("'" + malformed + "': " + put.entity(), put.status(), is(Status.BAD_REQUEST_400));
            assertThat(Json.read(put.entity(), JsonNode.class).path("error").asText(), is("bad_idempotency_key"));
        }
        ClientResponseTyped<String> twice = client.put("/values/malformed").header(IDEMPOTENCY_KEY, "a", "b")
                .submit("v", String.class);
        assertThat(twice.status(), is(Status.BAD_REQUEST_400));
        assertThat(probe().revision(), is(revision));
        assertThat(put("longest", "x".repeat(255)).submit("v", String.class).status(), is(Status.OK_200));
    }

    @Test
    void asyncRetriesAnswerTheSameCommandIdAndApplyOnce() {
        String idem = newKey();
        ClientResponseTyped<String> first = put("async", idem).header(HeaderNames.create("Prefer"), "respond-async")
                .submit("later", String.class);
        ClientResponseTyped<String> second = put("async", idem).header(HeaderNames.create("Prefer"), "respond-async")
                .submit("later", String.class);

        assertThat(first.status(), is(Status.ACCEPTED_202));
        assertThat(second.entity(), is(first.entity()));
        await().until(() -> probe().value("async").isPresent());
        long revision = probe().value("async").orElseThrow().modRevision();
        // A synchronous retry learns the outcome of the command the 202 named.
        ClientResponseTyped<String> sync = put("async", idem).submit("later", String.class);
        assertThat(sync.status(), is(Status.OK_200));
        assertThat(sync.entity(), is("{\"key\":\"async\",\"value\":\"later\",\"message\":\"OK\",\"revision\":"
                                     + revision + "}"));
        assertThat(probe().value("async").orElseThrow().modRevision(), is(revision));
    }
}
