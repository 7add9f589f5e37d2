package io.kvstream.wire;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.kvstream.config.Settings;
import io.kvstream.testing.RabbitTools;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

/**
 * A broker that refuses commands (negative publisher confirms, as a quorum queue gives while its members elect a
 * leader) makes a write wait and try again, on a fresh channel, until its deadline: refused for a moment, the write
 * is answered as usual; refused past its deadline, it gets a 503 that says the broker refused it. The refusal is real:
 * a RabbitMQ policy (max-length 0, overflow reject-publish) on the deployment's command queue.
 */
class RefusedCommandTest {
    private static final Duration GENEROUS = Duration.ofSeconds(60);
    private final TestDeployment deployment = TestDeployment.fresh("refused");
    private final String policy = "refuse-" + deployment.prefix();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aCommandRefusedForAMomentIsSentAgainAndOneRefusedPastItsDeadlineGetsA503() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ (rabbitmqctl); CI sets KVSTREAM_TEST_*");
        String queue = new Names(deployment.prefix()).commandQueue();
        try (TestNode worker = deployment.start(Settings.Role.WORKER);
             TestNode apiNode = deployment.start(Settings.Role.API)) {
            refuse(queue);
            try {
                CompletableFuture<HttpResponse<String>> sync = put(apiNode.uri("/"), "sync", false);
                CompletableFuture<HttpResponse<String>> async = put(apiNode.uri("/"), "async", true);
                // Refused all the while, but not answered: each is sent again and again.
                TimeUnit.MILLISECONDS.sleep(700);
                assertThat("the sync write is still waiting", sync.isDone(), is(false));
                assertThat("the async write is still waiting", async.isDone(), is(false));
                RabbitTools.rabbitmqctl("clear_policy", policy);
                assertThat(sync.get(GENEROUS.toSeconds(), TimeUnit.SECONDS).statusCode(), is(200));
                assertThat(async.get(GENEROUS.toSeconds(), TimeUnit.SECONDS).statusCode(), is(202));
                await().atMost(GENEROUS).until(() -> apiNode.value("async").isPresent());

                refuse(queue);
                HttpResponse<String> refused = put(apiNode.uri("/"), "refused", false).get(GENEROUS.toSeconds(),
                                                                                           TimeUnit.SECONDS);
                assertThat(refused.statusCode(), is(503));
                assertThat(refused.body(), containsString("Broker refused the command"));
                assertThat(apiNode.value("refused").isPresent(), is(false));
            } finally {
                RabbitTools.rabbitmqctl("clear_policy", policy);
            }
            assertThat(put(apiNode.uri("/"), "after", false).get(GENEROUS.toSeconds(), TimeUnit.SECONDS).statusCode(),
                       is(200));
        }
    }

    /** Makes the broker nack every publish to {@code queue}, and waits until the queue has the policy. */
    private void refuse(String queue) throws Exception {
        RabbitTools.rabbitmqctl("set_policy", "--apply-to", "queues", "--priority", "100", policy,
                    "^" + queue.replace(".", "\\.") + "$", "{\"max-length\":0,\"overflow\":\"reject-publish\"}");
        await().atMost(GENEROUS).until(() -> RabbitTools.rabbitmqctl("list_queues", "name", "policy").lines()
                .anyMatch(line -> line.startsWith(queue + "\t") && line.endsWith(policy)));
    }

    private CompletableFuture<HttpResponse<String>> put(URI base, String key, boolean async) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/values/" + key))
                .PUT(HttpRequest.BodyPublishers.ofString("v"));
        if (async) {
            request.header("Prefer", "respond-async");
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
