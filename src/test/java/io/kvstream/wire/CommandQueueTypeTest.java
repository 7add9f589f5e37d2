package io.kvstream.wire;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@code kvstream.amqp.command-queue-type} on the machine's RabbitMQ (the embedded Qpid knows classic only). */
class CommandQueueTypeTest {
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @Test
    void shippedDefaultIsClassicAndOnlyTheTwoTypesParse() {
        assertThat(Settings.from(Config.create()).amqp().commandQueueType(), is(Settings.QueueType.CLASSIC));
        assertThat(settingsWith("QUORUM ").amqp().commandQueueType(), is(Settings.QueueType.QUORUM));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                                                         () -> settingsWith("mirrored"));

        assertThat(refused.getMessage(), is("kvstream.amqp.command-queue-type must be classic or quorum, not 'mirrored'"));
    }

    private static Settings settingsWith(String commandQueueType) {
        return Settings.from(Config.builder()
                                     .disableEnvironmentVariablesSource()
                                     .disableSystemPropertiesSource()
                                     .sources(ConfigSources.create(Map.of("kvstream.amqp.command-queue-type",
                                                                          commandQueueType)),
                                              ConfigSources.classpath("application.yaml"))
                                     .build());
    }

    @Test
    void quorumSettingDeclaresAQuorumQueue() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ; CI sets KVSTREAM_TEST_*");
        Settings.Amqp amqp = amqp(Settings.QueueType.QUORUM);

        try (Broker ignored = Broker.connect(amqp, "queue-type-test", PATIENCE)) {
            assertThat(declaredType(amqp, "quorum"), is(true));
            assertThat(declaredType(amqp, null), is(false));
        }
    }

    @Test
    void classicSettingDeclaresAClassicQueue() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ; CI sets KVSTREAM_TEST_*");
        Settings.Amqp amqp = amqp(Settings.QueueType.CLASSIC);

        try (Broker ignored = Broker.connect(amqp, "queue-type-test", PATIENCE)) {
            assertThat(declaredType(amqp, null), is(true));
            assertThat(declaredType(amqp, "quorum"), is(false));
        }
    }

    @Test
    void queueOfTheOtherTypeStopsTheProcessAndSaysWhatToDo() {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ; CI sets KVSTREAM_TEST_*");
        Settings.Amqp classic = amqp(Settings.QueueType.CLASSIC);
        try (Broker ignored = Broker.connect(classic, "queue-type-test", PATIENCE)) {
            // the queue now exists as a classic one
        }

        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> Broker.connect(
                classic.withCommandQueueType(Settings.QueueType.QUORUM), "queue-type-test", PATIENCE));

        String queue = new Names(classic.namePrefix()).commandQueue();
        assertThat(refused.getMessage(), containsString("The command queue " + queue + " exists as another type than "
                                                        + "kvstream.amqp.command-queue-type=quorum"));
        assertThat(refused.getMessage(), containsString("rabbitmqctl delete_queue " + queue));
        assertThat(refused.getCause(), instanceOf(IOException.class));
    }

    private static Settings.Amqp amqp(Settings.QueueType type) {
        return TestServices.settings(Settings.Role.WORKER, "unused", TestServices.uniqueName("qtype")).amqp()
                .withCommandQueueType(type);
    }

    /** Whether the command queue accepts a passive-equivalent declare with this {@code x-queue-type} (none: null). */
    private static boolean declaredType(Settings.Amqp amqp, String type) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(amqp.uri());
        try (Connection connection = factory.newConnection("queue-type-probe")) {
            Channel channel = connection.createChannel();
            try {
                channel.queueDeclare(new Names(amqp.namePrefix()).commandQueue(), true, false, false,
                                     type == null ? Map.of() : Map.of("x-queue-type", type));
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }
}
