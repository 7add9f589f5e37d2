package io.kvstream.api;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.kvstream.config.Settings;
import io.kvstream.testing.ExpiryTools;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.TxnHttp;
import io.kvstream.testing.WsClient;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.startsWith;

/**
 * {@code /openapi} tells the truth: real answers of every documented operation, and the messages on {@code /events},
 * validate against the schemas of the document the server itself serves.
 */
class OpenApiContractTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final SchemaRegistry SCHEMAS = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    private static TestNode node;
    private static JsonNode document;

    @BeforeAll
    static void start() throws Exception {
        node = TestNode.start(TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("openapi"),
                                                    TestServices.uniqueName("openapi")));
        HttpResponse<String> served = KvHttp.get(node.uri("/openapi"));
        assertThat(served.body(), served.statusCode(), is(200));
        Object yaml = new Yaml().load(served.body());
        document = Json.read(Json.write(yaml), JsonNode.class);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    /** One real exchange: what was asked and what came back. */
    private record Exchange(String method, String path, String template, HttpResponse<String> response) {
    }

    private static Exchange send(String template, HttpRequest.Builder request) throws Exception {
        HttpRequest built = request.build();
        HttpResponse<String> response = HTTP.send(built, HttpResponse.BodyHandlers.ofString());
        return new Exchange(built.method(), built.uri().getRawPath(), template, response);
    }

    private static HttpRequest.Builder at(String pathAndQuery) {
        return HttpRequest.newBuilder(node.uri(pathAndQuery));
    }

    @Test
    void theDocumentIsOpenApi31AndDescribesTheApi() {
        assertThat(document.path("openapi").asText(), startsWith("3.1"));
        assertThat(document.path("paths").has("/values/{key}"), is(true));
        assertThat(document.path("paths").has("/values"), is(true));
        assertThat(document.path("paths").has("/events"), is(true));
    }

    @Test
    void everyDocumentedOperationAnswersAsDocumented() throws Exception {
        long first = KvHttp.put(node.port(), "oa-a", "one");
        List<Exchange> exchanges = new ArrayList<>();
        String key = "/values/{key}";
        exchanges.add(send(key, at("/values/oa-b").PUT(HttpRequest.BodyPublishers.ofString("two"))));
        exchanges.add(send(key, at("/values/oa-c").header("Prefer", "respond-async")
                .PUT(HttpRequest.BodyPublishers.ofString("later"))));
        exchanges.add(send(key, at("/values/oa-b").header("If-Match", "\"999999\"")
                .PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/oa-b").header("If-None-Match", "*")
                .PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/%FF").PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/" + "k".repeat(300)).PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/oa-big").PUT(HttpRequest.BodyPublishers.ofString("x".repeat(1024 * 1024 + 1)))));
        exchanges.add(send(key, at("/values/oa-multi").header("Content-Type", "multipart/form-data; boundary=b")
                .PUT(HttpRequest.BodyPublishers.ofString("--b--"))));
        exchanges.add(send(key, at("/values/oa-ttl?ttl=3600").PUT(HttpRequest.BodyPublishers.ofString("brief"))));
        exchanges.add(send(key, at("/values/oa-ttl?ttl=0").PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/oa-ttl")));
        exchanges.add(send("/values", at("/values?prefix=oa-ttl")));
        exchanges.add(send(key, at("/values/oa-a")));
        exchanges.add(send(key, at("/values/oa-a").header("If-None-Match", "\"" + first + "\"")));
        exchanges.add(send(key, at("/values/oa-missing")));
        exchanges.add(send(key, at("/values/oa-a?revision=" + first)));
        exchanges.add(send(key, at("/values/oa-a?revision=99999999")));
        exchanges.add(send(key, at("/values/oa-a?revision=soon")));
        exchanges.add(send("/values", at("/values?prefix=oa-&limit=1")));
        exchanges.add(send("/values", at("/values?prefix=oa-&revision=" + first)));
        exchanges.add(send("/values", at("/values?prefix=oa-&keys_only=true")));
        exchanges.add(send("/values", at("/values?keys_only=1")));
        exchanges.add(send("/values", at("/values?limit=0")));
        exchanges.add(send(key, at("/values/oa-b").header("If-Match", "\"1\"").DELETE()));
        exchanges.add(send(key, at("/values/oa-b").DELETE()));
        exchanges.add(send(key, at("/values/oa-b").DELETE()));
        exchanges.add(send(key, at("/values/oa-a").header("Prefer", "respond-async").DELETE()));
        exchanges.add(send(key, at("/values/oa-a").method("HEAD", HttpRequest.BodyPublishers.noBody())));
        exchanges.add(send("/values", at("/values?prefix=oa-").method("HEAD", HttpRequest.BodyPublishers.noBody())));
        exchanges.add(send("/values", at("/values?limit=1&limit=2").method("HEAD", HttpRequest.BodyPublishers.noBody())));
        exchanges.add(send(key, at("/values/oa-r?revision=1").PUT(HttpRequest.BodyPublishers.ofString("x"))));
        exchanges.add(send(key, at("/values/oa-r?ttl=5").DELETE()));
        exchanges.add(send(key, at("/values/oa-idem").header("Idempotency-Key", "\"oa-1\"")
                .PUT(HttpRequest.BodyPublishers.ofString("first"))));
        exchanges.add(send(key, at("/values/oa-idem").header("Idempotency-Key", "\"oa-1\"")
                .PUT(HttpRequest.BodyPublishers.ofString("other"))));
        exchanges.add(send("/txn", at("/txn").POST(HttpRequest.BodyPublishers.ofString(
                "{\"compare\":[{\"key\":\"oa-t\",\"revision\":0}],\"success\":[{\"op\":\"put\",\"key\":\"oa-t\","
                + "\"value\":\"1\"},{\"op\":\"delete\",\"key\":\"oa-none\"}],\"failure\":[]}"))));
        exchanges.add(send("/txn", at("/txn").POST(HttpRequest.BodyPublishers.ofString(
                "{\"compare\":[{\"key\":\"oa-t\",\"revision\":0}],\"failure\":[{\"op\":\"delete\",\"key\":\"oa-t\"}]}"))));
        exchanges.add(send("/txn", at("/txn").header("Prefer", "respond-async")
                .POST(HttpRequest.BodyPublishers.ofString("{\"success\":[{\"op\":\"put\",\"key\":\"oa-u\",\"value\":\"2\"}]}"))));
        exchanges.add(send("/txn", at("/txn").POST(HttpRequest.BodyPublishers.ofString("{\"success\":[{\"op\":\"get\"}]}"))));
        exchanges.add(send("/txn", at("/txn").header("Idempotency-Key", "\"oa-t1\"")
                .POST(HttpRequest.BodyPublishers.ofString("{\"success\":[]}"))));
        exchanges.add(send("/txn", at("/txn").header("Idempotency-Key", "\"oa-t1\"")
                .POST(HttpRequest.BodyPublishers.ofString("{\"failure\":[]}"))));
        exchanges.add(send("/", at("/")));

        Set<String> exercised = new LinkedHashSet<>();
        for (Exchange exchange : exchanges) {
            String what = exchange.method() + " " + exchange.path() + " → " + exchange.response().statusCode();
            JsonNode operation = document.path("paths").path(exchange.template()).path(exchange.method().toLowerCase());
            assertThat(what + " is documented", operation.isMissingNode(), is(false));
            exercised.add(exchange.method() + " " + exchange.template());
            JsonNode response = resolve(operation.path("responses").path(Integer.toString(exchange.response().statusCode())));
            assertThat(what + ": status documented", response.isMissingNode(), is(false));
            String contentType = exchange.response().headers().firstValue("Content-Type").orElse("");
            JsonNode content = response.path("content");
            // A HEAD answer has the headers of its GET and never a body (RFC 9110 §9.3.2).
            if (content.isMissingNode() || content.isEmpty() || exchange.method().equals("HEAD")) {
                assertThat(what + ": no body", exchange.response().body(), is(""));
                continue;
            }
            String mediaType = contentType.split(";")[0].trim();
            assertThat(what + ": " + contentType + " documented", content.has(mediaType), is(true));
            if (mediaType.equals("application/json")) {
                assertValid(what, content.path(mediaType).path("schema"), exchange.response().body());
            }
        }
        Set<String> documented = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = document.path("paths").properties().iterator(); paths.hasNext();) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (String method : List.of("get", "head", "put", "delete", "post")) {
                if (path.getValue().has(method) && !path.getKey().equals("/events")) {
                    documented.add(method.toUpperCase() + " " + path.getKey());
                }
            }
        }
        assertThat("every documented operation was exercised", exercised.containsAll(documented), is(true));
    }

    @Test
    void everyMessageOnTheStreamMatchesTheEventMessageSchema() {
        JsonNode schema = document.path("components").path("schemas").path("EventMessage");
        try (WsClient client = WsClient.connect(WsClient.events(node.port(), "since=0"))) {
            KvHttp.put(node.port(), "oa-stream", "v");
            KvHttp.delete(node.port(), "oa-stream");
            TxnHttp.txn(node.port(), "{\"success\":[" + TxnHttp.put("oa-stream-t", "t") + "]}");
            ExpiryTools.put(node.port(), "oa-stream-ttl", "ttl=1", "brief");
            await().until(() -> client.messages.stream()
                    .anyMatch(m -> m.contains("value_deleted") && m.contains("\"oa-stream\"")));
            await().until(() -> client.messages.stream()
                    .anyMatch(m -> m.contains("\"expired\":true") && m.contains("\"oa-stream-ttl\"")));
            for (String message : client.messages) {
                assertValid(message, schema, message);
            }
        }
        try (WsClient client = WsClient.connect(WsClient.events(node.port(), "since=abc"))) {
            await().until(client.closed::isDone);
            client.messages.forEach(message -> assertValid(message, schema, message));
        }
    }

    /** {@code GET /events} as Server-Sent Events: the documented 200 and 400, each {@code data:} an EventMessage. */
    @Test
    void theServerSentEventStreamAnswersAsDocumented() throws Exception {
        JsonNode operation = document.path("paths").path("/events").path("get");
        JsonNode schema = document.path("components").path("schemas").path("EventMessage");
        try (SseClient client = SseClient.connect(node.port(), "since=0&prefix=oa-sse")) {
            KvHttp.put(node.port(), "oa-sse", "v");
            KvHttp.delete(node.port(), "oa-sse");
            await().until(() -> client.ofType("domain_event").size() == 2 && !client.openedIds().isEmpty());
            String contentType = client.response().headers().firstValue("Content-Type").orElse("");
            assertThat(operation.path("responses").path("200").path("content").has(contentType), is(true));
            client.events.forEach(event -> assertValid(event.data(), schema, event.data()));
        }
        Exchange bad = send("/events", at("/events?prefix=a&key=b").header("Accept", "text/event-stream"));
        assertThat(bad.response().statusCode(), is(400));
        assertValid("SSE 400", resolve(operation.path("responses").path("400")).path("content")
                .path("application/json").path("schema"), bad.response().body());
        Exchange page = send("/", at("/?prefix=oa-"));
        assertThat(page.response().statusCode(), is(200));
        assertThat(document.path("paths").path("/").path("get").path("parameters").path(0).path("name").asText(),
                   is("prefix"));
    }

    private static JsonNode resolve(JsonNode node) {
        String ref = node.path("$ref").asText("");
        if (!ref.startsWith("#/")) {
            return node;
        }
        JsonNode target = document;
        for (String part : ref.substring(2).split("/")) {
            target = target.path(part);
        }
        return resolve(target);
    }

    /** Validates against a schema of the document, its component schemas in reach. */
    private static void assertValid(String what, JsonNode schema, String json) {
        String components = Json.writeString(document.path("components").path("schemas"))
                .replace("#/components/schemas/", "#/$defs/");
        String root = Json.writeString(schema).replace("#/components/schemas/", "#/$defs/");
        String standalone = "{\"$defs\":" + components + "," + root.substring(1);
        if (root.equals("{}")) {
            standalone = "{\"$defs\":" + components + "}";
        }
        Schema validator = SCHEMAS.getSchema(standalone, InputFormat.JSON);
        List<Error> errors = validator.validate(json, InputFormat.JSON);
        assertThat(what + ": " + json + " against " + root + ": " + errors, errors.isEmpty(), is(true));
    }
}
