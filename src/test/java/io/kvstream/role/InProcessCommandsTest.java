package io.kvstream.role;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Names;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.is;

/**
 * The all-in-one role hands its synchronous commands to its own worker without the broker, and still sends the
 * commands nobody waits for through it (the broker keeps those when the process dies). Seen from outside: a consumer
 * that competes for the command queue and never acks would take every other message the queue gets.
 */
class InProcessCommandsTest {
    private static final int WRITES = 40;

    @Test
    void synchronousWritesNeverReachTheCommandQueueAndAsynchronousOnesDo() throws Exception {
        String name = TestServices.uniqueName("inproc");
        Settings settings = TestServices.settings(Settings.Role.ALL, name, name);
        try (TestNode node = TestNode.start(settings)) {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri(settings.amqp().uri());
            List<String> taken = new CopyOnWriteArrayList<>();
            try (Connection connection = factory.newConnection("competing-consumer")) {
                Channel channel = connection.createChannel();
                channel.basicConsume(new Names(settings.amqp().namePrefix()).commandQueue(), false,
                                     (tag, delivery) -> taken.add(new String(delivery.getBody(),
                                                                             StandardCharsets.UTF_8)),
                                     tag -> { });

                List<Long> revisions = IntStream.range(0, WRITES)
                        .mapToObj(i -> KvHttp.put(node.port(), "sync-" + i, "v" + i)).toList();
                assertThat(revisions, is(IntStream.rangeClosed(1, WRITES).mapToObj(i -> (long) i).toList()));
                assertThat(taken, is(empty()));

                for (int i = 0; i < WRITES; i++) {
                    KvHttp.putAsync(node.port(), "async-" + i, "a" + i);
                }
                await().until(() -> !taken.isEmpty());
            }
            // The competing consumer is gone without acking: the broker hands its commands to the process's worker.
            await().until(() -> node.revision() == 2L * WRITES);
            for (int i = 0; i < WRITES; i++) {
                assertThat(node.value("sync-" + i).orElseThrow(), is(new Entry("v" + i, i + 1)));
                assertThat(node.value("async-" + i).orElseThrow().value(), is("a" + i));
            }
        }
    }
}
