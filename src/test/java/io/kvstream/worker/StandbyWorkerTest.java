package io.kvstream.worker;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * Of two workers, only the one whose relay leads consumes the command queue; when it stops (a rolling update), the
 * standby takes the lead and the commands, and writes go on being answered 200 with nothing lost or doubled. (Which
 * one takes commands is seen from the broker's consumer count, and from who can commit at all.)
 */
class StandbyWorkerTest {
    private static final Duration GENEROUS = Duration.ofSeconds(120);
    private static final int WRITES = 20;
    private final TestDeployment deployment = TestDeployment.fresh("standby");

    @Test
    void theStandbyTakesOverTheCommandsWhenTheLeaderStops() throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(TestServices.amqpUri());
        try (Connection broker = factory.newConnection("consumer-count");
             TestNode api = deployment.start(Settings.Role.API);
             LoadClient load = new LoadClient()) {
            Channel channel = broker.createChannel();
            TestNode standby;
            try (TestNode leader = deployment.start(Settings.Role.WORKER)) {
                // Alone, it leads.
                await().atMost(GENEROUS).until(() -> consumers(channel) == 1);
                standby = deployment.start(Settings.Role.WORKER);
                for (int i = 0; i < WRITES; i++) {
                    assertThat(load.createOnce(api.uri("/"), "led-" + i, "v" + i, GENEROUS).status(), is(200));
                }
                assertThat("consumers of two workers", consumers(channel), is(1L));
            }
            try (standby) {
                await().atMost(GENEROUS).until(() -> consumers(channel) == 1);
                for (int i = 0; i < WRITES; i++) {
                    assertThat(load.createOnce(api.uri("/"), "taken-over-" + i, "v" + i, GENEROUS).status(), is(200));
                }
                StoredEvents.assertConsistent(deployment.settings(Settings.Role.API).db(), load, List.of(api));
            }
        }
    }

    private long consumers(Channel channel) throws IOException {
        return channel.queueDeclarePassive(new Names(deployment.prefix()).commandQueue()).getConsumerCount();
    }
}
