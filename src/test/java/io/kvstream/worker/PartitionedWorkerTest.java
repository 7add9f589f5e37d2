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
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The leading worker cut off from PostgreSQL alone (its network frozen: no FIN, no RST) stops consuming the command
 * queue, and the standby, which took no command so far, takes the lead and commits every command meanwhile; back on
 * the network, the first worker stands by. The broker's consumer count on the queue shows that one worker at a time
 * takes commands.
 */
class PartitionedWorkerTest {
    private static final Duration GENEROUS = Duration.ofSeconds(120);
    private static final int WRITES = 20;
    private final TestDeployment deployment = TestDeployment.fresh("partition");

    @Test
    void theStandbyTakesTheCommandsWhileTheLeaderIsCutOffFromTheDatabase() throws Exception {
        Settings.Db direct = deployment.settings(Settings.Role.ALL).db();
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(TestServices.amqpUri());
        try (TcpProxy network = TcpProxy.toDatabase(direct.url());
             Connection broker = factory.newConnection("consumer-count");
             TestNode cutOff = TestNode.start(deployment.failingFast(Settings.Role.WORKER,
                                                                     network.jdbcUrl(direct.url())))) {
            Channel channel = broker.createChannel();
            // Alone, it leads.
            await().atMost(GENEROUS).until(() -> consumers(channel) == 1);
            try (TestNode standby = TestNode.start(deployment.failingFast(Settings.Role.WORKER, direct.url()));
                 TestNode api = deployment.start(Settings.Role.API);
                 LoadClient load = new LoadClient()) {
                for (int i = 0; i < WRITES; i++) {
                    assertThat(load.createOnce(api.uri("/"), "led-" + i, "v" + i, GENEROUS).status(), is(200));
                }
                assertThat("consumers with a standby", consumers(channel), is(1L));

                network.freeze();
                // Only the standby can commit these.
                for (int i = 0; i < WRITES; i++) {
                    assertThat(load.createOnce(api.uri("/"), "cut-off-" + i, "v" + i, GENEROUS).status(), is(200));
                }
                StoredEvents.assertConsistent(direct, load, List.of(api));
                assertThat("consumers while cut off", consumers(channel), is(1L));

                network.thaw();
                for (int i = 0; i < WRITES; i++) {
                    assertThat(load.createOnce(api.uri("/"), "healed-" + i, "v" + i, GENEROUS).status(), is(200));
                }
                StoredEvents.assertConsistent(direct, load, List.of(api));
                await().atMost(GENEROUS).until(() -> consumers(channel) == 1);
            }
        }
    }

    private long consumers(Channel channel) throws IOException {
        return channel.queueDeclarePassive(new Names(deployment.prefix()).commandQueue()).getConsumerCount();
    }
}
