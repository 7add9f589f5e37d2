package io.kvstream.wire;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.kvstream.config.Settings;
import io.kvstream.embedded.EmbeddedBroker;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code kvstream.amqp.sync-command-lane}: what parses, and a broker that does not know the random exchange type stops
 * the process with what to do. The broker here is the embedded Qpid, which knows no {@code x-random} either and, like
 * a RabbitMQ without plugin rabbitmq_random_exchange, closes the connection with COMMAND_INVALID.
 */
class SyncCommandLaneSettingTest {
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @Test
    void shippedDefaultIsTheSharedQueueAndOnlyTheTwoLanesParse() {
        assertThat(Settings.from(Config.create()).amqp().syncCommandLane(), is(Settings.SyncCommandLane.SHARED_QUEUE));
        assertThat(settingsWith(" Worker-Queues").amqp().syncCommandLane(), is(Settings.SyncCommandLane.WORKER_QUEUES));
        assertThat(Settings.SyncCommandLane.WORKER_QUEUES.configName(), is("worker-queues"));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> settingsWith("random"));

        assertThat(refused.getMessage(),
                   is("kvstream.amqp.sync-command-lane must be shared-queue or worker-queues, not 'random'"));
    }

    @Test
    void workerQueuesOnABrokerWithoutTheRandomExchangeStopTheProcessAndSayWhatToDo(@TempDir Path dir)
            throws IOException {
        try (EmbeddedBroker broker = EmbeddedBroker.start(Files.createDirectories(dir.resolve("broker")), 0)) {
            Settings.Amqp amqp = TestServices.settings(Settings.Role.WORKER, "unused", TestServices.uniqueName("noplugin"))
                    .amqp().withUri(broker.amqpUri()).withSyncCommandLane(Settings.SyncCommandLane.WORKER_QUEUES);

            IllegalStateException refused = assertThrows(IllegalStateException.class,
                                                         () -> Broker.connect(amqp, "lane-test", PATIENCE));

            assertThat(refused.getMessage(), containsString("kvstream.amqp.sync-command-lane=worker-queues needs the "
                                                            + "exchange type x-random"));
            assertThat(refused.getMessage(), containsString("rabbitmq-plugins enable rabbitmq_random_exchange"));
            assertThat(refused.getMessage(), containsString("KVSTREAM_AMQP_SYNC_COMMAND_LANE=shared-queue"));
            assertThat(refused.getCause(), instanceOf(IOException.class));
        }
    }

    private static Settings settingsWith(String lane) {
        return Settings.from(Config.builder()
                                     .disableEnvironmentVariablesSource()
                                     .disableSystemPropertiesSource()
                                     .sources(ConfigSources.create(Map.of("kvstream.amqp.sync-command-lane", lane)),
                                              ConfigSources.classpath("application.yaml"))
                                     .build());
    }
}
