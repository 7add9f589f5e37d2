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
 * A worker cut off from PostgreSQL alone (its network frozen: no FIN, no RST) stops consuming the command queue until
 * it can reach the database again, so the other worker commits every command meanwhile; then it consumes again.
 * The broker's consumer count on the queue shows which workers take commands.
 */
class PartitionedWorkerTest {
    private static final Duration GENEROUS = Duration.ofSeconds(120);
    private static final int WRITES = 20;
    private final TestDeployment deployment = TestDeployment.fresh("partition");

    @Test
    void aWorkerCutOffFromTheDatabaseLeavesTheCommandsToTheOtherUntilItIsBack() throws Exception {
        Settings.Db direct = deployment.settings(Settings.Role.ALL).db();
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(TestServices.amqpUri());
        try (TcpProxy network = TcpProxy.toDatabase(direct.url());
             TestNode cutOff = TestNode.start(deployment.failingFast(Settings.Role.WORKER,
                                                                     network.jdbcUrl(direct.url())));
             TestNode other = TestNode.start(deployment.failingFast(Settings.Role.WORKER, direct.url()));
             TestNode api = deployment.start(Settings.Role.API);
             Connection broker = factory.newConnection("consumer-count");
             LoadClient load = new LoadClient()) {
            Channel channel = broker.createChannel();
            await().atMost(GENEROUS).until(() -> consumers(channel) == 2);

            network.freeze();
            await().atMost(GENEROUS).until(() -> consumers(channel) == 1);
            for (int i = 0; i < WRITES; i++) {
                assertThat(load.createOnce(api.uri("/"), "cut-off-" + i, "v" + i, GENEROUS).status(), is(200));
            }
            StoredEvents.assertConsistent(direct, load, List.of(api));

            network.thaw();
            await().atMost(GENEROUS).until(() -> consumers(channel) == 2);
            for (int i = 0; i < WRITES; i++) {
                assertThat(load.createOnce(api.uri("/"), "healed-" + i, "v" + i, GENEROUS).status(), is(200));
            }
            StoredEvents.assertConsistent(direct, load, List.of(api));
        }
    }

    private long consumers(Channel channel) throws IOException {
        return channel.queueDeclarePassive(new Names(deployment.prefix()).commandQueue()).getConsumerCount();
    }
}
