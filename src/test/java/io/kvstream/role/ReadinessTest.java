package io.kvstream.role;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.wire.Json;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * {@link Readiness} through {@code /observe/health/ready}: while PostgreSQL is down (its proxy refuses and cuts every
 * connection), the processes that serve clients stay ready and go on answering reads from their replicas, writes
 * answer 503, and only the worker is unready; once it is back, writes commit again.
 */
class ReadinessTest {
    private static final Duration GENEROUS = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final TestDeployment deployment = TestDeployment.fresh("ready");

    @Test
    void aDatabaseOutageLeavesReadsAndStreamsReadyAndTheWorkerUnready() throws Exception {
        String direct = deployment.settings(Settings.Role.API).db().url();
        try (TcpProxy database = TcpProxy.toDatabase(direct);
             TestNode worker = TestNode.start(deployment.failingFast(Settings.Role.WORKER, database.jdbcUrl(direct)));
             TestNode api = TestNode.start(deployment.failingFast(Settings.Role.API, database.jdbcUrl(direct)));
             TestNode websocket = TestNode.start(deployment.failingFast(Settings.Role.WEBSOCKET,
                                                                        database.jdbcUrl(direct)))) {
            await().atMost(GENEROUS).until(() -> ready(api).statusCode() == 200 && ready(worker).statusCode() == 200
                                                 && ready(websocket).statusCode() == 200);
            assertThat(send(put(api, "kept", "before the outage")).statusCode(), is(200));
            assertThat(check(ready(api), "broker").path("data").path("database").asText(), is("reachable"));

            database.stop();
            // A write sent before the API saw the outage may wait and apply later ("may still apply"); a 503 never does.
            AtomicInteger attempts = new AtomicInteger();
            await().atMost(GENEROUS).until(() -> send(put(api, "refused-" + attempts.incrementAndGet(),
                                                          "during the outage")).statusCode() == 503);

            HttpResponse<String> apiReady = ready(api);
            assertThat(apiReady.body(), apiReady.statusCode(), is(200));
            assertThat(check(apiReady, "broker").path("data").path("database").asText(),
                       is("unreachable: writes answer 503"));
            assertThat(check(apiReady, "replica").path("status").asText(), is("UP"));
            HttpResponse<String> read = send(HttpRequest.newBuilder(api.uri("/values/kept")).build());
            assertThat(read.statusCode(), is(200));
            assertThat(read.body(), is("{\"key\":\"kept\",\"value\":\"before the outage\"}"));
            assertThat(ready(websocket).statusCode(), is(200));
            await().atMost(GENEROUS).until(() -> ready(worker).statusCode() == 503);
            HttpResponse<String> workerReady = ready(worker);
            assertThat(check(workerReady, "database").path("status").asText(), is("DOWN"));
            assertThat(check(workerReady, "broker").path("status").asText(), is("UP"));

            database.start();
            await().atMost(GENEROUS).until(() -> send(put(api, "after", "the outage")).statusCode() == 200);
            await().atMost(GENEROUS).until(() -> ready(worker).statusCode() == 200);
            assertThat(send(HttpRequest.newBuilder(api.uri("/values/after")).build()).body(),
                       is("{\"key\":\"after\",\"value\":\"the outage\"}"));
            assertThat(send(HttpRequest.newBuilder(api.uri("/values/refused-" + attempts.get())).build()).statusCode(), is(404));
        }
    }

    private static HttpRequest put(TestNode node, String key, String value) {
        return HttpRequest.newBuilder(node.uri("/values/" + key))
                .PUT(HttpRequest.BodyPublishers.ofString(value))
                .timeout(GENEROUS)
                .build();
    }

    private static HttpResponse<String> ready(TestNode node) {
        return send(HttpRequest.newBuilder(node.uri("/observe/health/ready")).build());
    }

    private static JsonNode check(HttpResponse<String> health, String name) {
        for (JsonNode check : Json.read(health.body(), JsonNode.class).path("checks")) {
            if (check.path("name").asText().equals(name)) {
                return check;
            }
        }
        throw new AssertionError("no check " + name + " in " + health.body());
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError(request.uri() + ": " + e, e);
        }
    }
}
