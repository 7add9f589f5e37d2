package io.kvstream.api;

import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webclient.api.ClientResponseTyped;
import io.helidon.webclient.http1.Http1Client;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.testing.junit5.ServerTest;
import io.helidon.webserver.testing.junit5.SetUpServer;
import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;
import io.kvstream.role.RunningRole;
import io.kvstream.testing.HttpProbe;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * {@code POST /txn} through real HTTP against real PostgreSQL and AMQP: the answer's shape for either branch, the
 * 400s with the offending index, 202 with {@code Prefer: respond-async}, and a retry with an Idempotency-Key.
 */
@ServerTest
class TxnApiTest {
    private static final HeaderName PREFER = HeaderNames.create("Prefer");
    private static final HeaderName IDEMPOTENCY_KEY = HeaderNames.create("Idempotency-Key");
    private static RunningRole app;
    private final Http1Client client;
    private final HttpProbe probe;

    TxnApiTest(Http1Client client, WebServer server) {
        this.client = client;
        this.probe = new HttpProbe(server.port());
    }

    @SetUpServer
    static void server(WebServerConfig.Builder server) {
        app = RunningRole.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("txn"),
                                                   TestServices.uniqueName("txn")));
        app.configure(server);
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    private ClientResponseTyped<String> txn(String body) {
        return client.post("/txn").submit(body, String.class);
    }

    private static String unique(String name) {
        return name + "-" + UUID.randomUUID();
    }

    @Test
    void comparesThatHoldApplyTheSuccessChangesAndTheAnswerSaysWhatEachDid() {
        String a = unique("a");
        String b = unique("b");
        String gone = unique("gone");
        long before = probe.revision();

        ClientResponseTyped<String> answer = txn("{\"compare\":[{\"key\":\"" + a + "\",\"revision\":0}],"
                                                 + "\"success\":[{\"op\":\"put\",\"key\":\"" + a + "\",\"value\":\"1\"},"
                                                 + "{\"op\":\"delete\",\"key\":\"" + gone + "\"},"
                                                 + "{\"op\":\"put\",\"key\":\"" + b + "\",\"value\":\"2\"}],"
                                                 + "\"failure\":[{\"op\":\"put\",\"key\":\"" + a + "\",\"value\":\"no\"}]}");

        assertThat(answer.status(), is(Status.OK_200));
        long first = before + 1;
        assertThat(answer.entity(), is("{\"succeeded\":true,\"revision\":" + (first + 1) + ",\"results\":["
                                       + "{\"key\":\"" + a + "\",\"revision\":" + first + "},"
                                       + "{\"key\":\"" + gone + "\",\"message\":\"0\"},"
                                       + "{\"key\":\"" + b + "\",\"revision\":" + (first + 1) + "}]}"));
        // Read-your-writes: applied here before the answer.
        assertThat(probe.value(a).orElseThrow(), is(new Entry("1", first)));
        assertThat(probe.value(b).orElseThrow(), is(new Entry("2", first + 1)));
    }

    @Test
    void aFailedCompareAppliesTheFailureChangesAndIsNoError() {
        String a = unique("a");
        long written = Json.read(client.put("/values/" + a).submit("v", String.class).entity(), JsonNode.class)
                .path("revision").asLong();

        ClientResponseTyped<String> answer = txn("{\"compare\":[{\"key\":\"" + a + "\",\"revision\":" + (written + 100)
                                                 + "}],\"success\":[{\"op\":\"put\",\"key\":\"" + a + "\",\"value\":\"x\"}],"
                                                 + "\"failure\":[{\"op\":\"delete\",\"key\":\"" + a + "\"}]}");

        assertThat(answer.status(), is(Status.OK_200));
        JsonNode body = Json.read(answer.entity(), JsonNode.class);
        long deleted = body.path("revision").asLong();
        assertThat(answer.entity(), is("{\"succeeded\":false,\"revision\":" + deleted + ",\"results\":["
                                       + "{\"key\":\"" + a + "\",\"message\":\"1\",\"revision\":" + deleted + "}]}"));
        assertThat(probe.value(a).isEmpty(), is(true));
    }

    @Test
    void aTransactionThatChangesNothingAnswersTheRevisionItWasDecidedAt() {
        long before = probe.revision();

        ClientResponseTyped<String> answer = txn("{\"compare\":[{\"key\":\"" + unique("x") + "\",\"revision\":5}]}");

        assertThat(answer.status(), is(Status.OK_200));
        assertThat(answer.entity(), is("{\"succeeded\":false,\"revision\":" + before + ",\"results\":[]}"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "[]                                                    | The body must be one JSON object",
            "{\"success\":[]} xx                                  | The body must be one JSON object",
            "{\"success\":[{\"op\":\"put\",\"key\":\"a\",\"key\":\"b\",\"value\":\"1\"}]} | The body must be one JSON object",
            "{\"compare\":[],\"then\":[]}                          | Unknown field 'then'",
            "{\"compare\":{}}                                      | compare: must be an array",
            "{\"compare\":[{\"key\":\"a\",\"revision\":-1}]}       | compare[0]: revision must be an integer, 0 or more",
            "{\"compare\":[{\"key\":\"a\",\"revision\":1.5}]}      | compare[0]: revision must be an integer, 0 or more",
            "{\"compare\":[{\"key\":\"a\",\"revision\":1},{\"key\":\"\",\"revision\":1}]} | compare[1]: The key is empty",
            "{\"success\":[{\"op\":\"put\",\"key\":\"a\",\"value\":\"1\"},{\"op\":\"get\",\"key\":\"b\"}]} | success[1]: op must be",
            "{\"success\":[{\"op\":\"put\",\"key\":\"a\"}]}        | success[0]: a put needs a string value",
            "{\"success\":[{\"op\":\"put\",\"key\":\"a\",\"value\":7}]} | success[0]: a put needs a string value",
            "{\"failure\":[{\"op\":\"delete\",\"key\":\"a\",\"value\":\"v\"}]} | failure[0]: a delete has no value",
            "{\"failure\":[{\"op\":\"delete\",\"key\":\"a/b\"}]}   | failure[0]: A key cannot contain '/'",
            "{\"success\":[{\"op\":\"delete\",\"key\":\"a\"},{\"op\":\"put\",\"key\":\"b\",\"value\":\"\"},{\"op\":\"put\",\"key\":\"a\",\"value\":\"\"}]} | success[2]: key 'a' is already changed by success[0]",
            "{\"success\":[{\"op\":\"delete\",\"key\":\"a\",\"ttl\":3}]} | success[0]: unknown field 'ttl'",
            "{\"compare\":[{\"key\":\"a\",\"revision\":1},{\"key\":\"a\",\"revision\":2}]} | compare[1]: key 'a' is already compared by compare[0]",
    })
    void aBadShapeIsA400NamingTheOffendingPlace(String body, String messageStart) {
        long before = probe.revision();

        ClientResponseTyped<String> answer = txn(body);

        assertThat(answer.status(), is(Status.BAD_REQUEST_400));
        JsonNode error = Json.read(answer.entity(), JsonNode.class);
        assertThat(error.path("error").asText(), is("bad_txn"));
        assertThat(error.path("message").asText(), error.path("message").asText().startsWith(messageStart), is(true));
        assertThat(probe.revision(), is(before));
    }

    @Test
    void moreThan128ChangesInABranchIsA400() {
        String changes = IntStream.range(0, 129)
                .mapToObj(i -> "{\"op\":\"delete\",\"key\":\"k" + i + "\"}")
                .collect(Collectors.joining(",", "[", "]"));

        ClientResponseTyped<String> answer = txn("{\"failure\":" + changes + "}");

        assertThat(answer.status(), is(Status.BAD_REQUEST_400));
        assertThat(Json.read(answer.entity(), JsonNode.class).path("message").asText(),
                   is("failure: at most 128 items, not 129"));
    }

    @Test
    void respondAsyncAnswers202WithTheCommandAndTheTransactionApplies() {
        String a = unique("async");

        ClientResponseTyped<String> answer = client.post("/txn").header(PREFER, "respond-async")
                .submit("{\"success\":[{\"op\":\"put\",\"key\":\"" + a + "\",\"value\":\"later\"}]}", String.class);

        assertThat(answer.status(), is(Status.ACCEPTED_202));
        JsonNode body = Json.read(answer.entity(), JsonNode.class);
        assertThat(body.path("message").asText(), is("Accepted"));
        assertThat(body.path("command").isTextual(), is(true));
        await().until(() -> probe.value(a).isPresent());
        assertThat(probe.value(a).orElseThrow().value(), is("later"));
    }

    @Test
    void aRetryWithTheSameIdempotencyKeyGetsTheFirstAnswerAndChangesNothing() {
        String a = unique("idem");
        String idem = UUID.randomUUID().toString();
        String body = "{\"compare\":[{\"key\":\"" + a + "\",\"revision\":0}],"
                      + "\"success\":[{\"op\":\"put\",\"key\":\"" + a + "\",\"value\":\"once\"}]}";
        ClientResponseTyped<String> first = client.post("/txn").header(IDEMPOTENCY_KEY, idem).submit(body, String.class);
        long before = probe.revision();

        ClientResponseTyped<String> retry = client.post("/txn").header(IDEMPOTENCY_KEY, idem).submit(body, String.class);

        assertThat(first.status(), is(Status.OK_200));
        assertThat(retry.status(), is(Status.OK_200));
        assertThat(retry.entity(), is(first.entity()));
        assertThat(probe.revision(), is(before));
        ClientResponseTyped<String> reused = client.post("/txn").header(IDEMPOTENCY_KEY, idem)
                .submit("{\"success\":[]}", String.class);
        assertThat(reused.status().code(), is(422));
    }

    @Test
    void otherMethodsAre405() {
        ClientResponseTyped<String> answer = client.get("/txn").request(String.class);

        assertThat(answer.status(), is(Status.METHOD_NOT_ALLOWED_405));
        assertThat(answer.headers().first(HeaderNames.ALLOW).orElseThrow(), is("POST"));
    }
}
