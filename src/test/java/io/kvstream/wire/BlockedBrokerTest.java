package io.kvstream.wire;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * A broker under a resource alarm blocks each connection that publishes: it reads nothing more from it. A write then
 * cannot be sent, and is answered at its deadline (504, "may still apply") like any write whose outcome is unknown,
 * never held past it: also when its request's own thread would have sent it (nothing else queued) and the values fill
 * the connection's socket buffers, where a send waits until the alarm ends. Once the alarm ends, writes go through
 * again. The alarm is real: the machine's RabbitMQ with a memory high watermark of one byte.
 */
class BlockedBrokerTest {
    private static final Duration GENEROUS = Duration.ofSeconds(60);
    /** Close to the largest value a PUT may carry: a dozen of them are more than loopback's socket buffers hold. */
    private static final String LARGE_VALUE = "v".repeat(1_000_000);
    private final TestDeployment deployment = TestDeployment.fresh("blocked");
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void writesWhileTheBrokerBlocksPublishesAreAnsweredAtTheirDeadlineAndGoThroughAgainAfterwards() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ (rabbitmqctl); CI sets KVSTREAM_TEST_*");
        try (TestNode worker = deployment.start(Settings.Role.WORKER);
             TestNode apiNode = deployment.start(Settings.Role.API)) {
            assertThat(put(apiNode.uri("/"), "before", "v").get(GENEROUS.toSeconds(), TimeUnit.SECONDS).statusCode(),
                       is(200));
            String watermark = RabbitTools.rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().")
                    .strip();
            RabbitTools.rabbitmqctl("set_vm_memory_high_watermark", "absolute", "1");
            try {
                await().atMost(GENEROUS).until(() -> RabbitTools.rabbitmqctl("eval", "rabbit_alarm:get_alarms().")
                        .contains("memory"));
                // One after the other, so that each finds nothing queued: what a request's own thread would send.
                List<CompletableFuture<HttpResponse<String>>> blocked = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    blocked.add(put(apiNode.uri("/"), "blocked-" + i, LARGE_VALUE));
                    TimeUnit.MILLISECONDS.sleep(200);
                }
                for (CompletableFuture<HttpResponse<String>> write : blocked) {
                    HttpResponse<String> response = write.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
                    assertThat(response.body(), response.statusCode(), is(504));
                    assertThat(response.body(), containsString("may still apply"));
                }
                assertThat("answered while the alarm still holds",
                           RabbitTools.rabbitmqctl("eval", "rabbit_alarm:get_alarms().").contains("memory"), is(true));
            } finally {
                restore(watermark);
            }
            await().atMost(GENEROUS).until(() -> put(apiNode.uri("/"), "after", "v")
                    .get(GENEROUS.toSeconds(), TimeUnit.SECONDS).statusCode() == 200);
            assertThat(apiNode.value("after").isPresent(), is(true));
        }
    }

    /** Sets the watermark back to what {@code get_vm_memory_high_watermark()} said: a fraction or {absolute,N}. */
    private static void restore(String watermark) {
        if (watermark.startsWith("{absolute,")) {
            RabbitTools.rabbitmqctl("set_vm_memory_high_watermark", "absolute",
                                    watermark.substring("{absolute,".length(), watermark.length() - 1));
        } else {
            RabbitTools.rabbitmqctl("set_vm_memory_high_watermark", watermark);
        }
    }

    private CompletableFuture<HttpResponse<String>> put(URI base, String key, String value) {
        return http.sendAsync(HttpRequest.newBuilder(base.resolve("/values/" + key))
                                      .PUT(HttpRequest.BodyPublishers.ofString(value)).build(),
                              HttpResponse.BodyHandlers.ofString());
    }
}
