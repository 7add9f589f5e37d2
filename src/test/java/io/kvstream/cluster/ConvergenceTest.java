package io.kvstream.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.kvstream.config.Settings;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;
import io.kvstream.domain.Entry;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.StoredContent;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.CommandCodec;
import io.kvstream.wire.Json;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;

/**
 * Several processes against one PostgreSQL schema and one broker: every replica ends equal to the
 * database, revisions stay one gap-free order with several workers, and commands apply exactly once.
 */
class ConvergenceTest {

    @Test
    void twoApiProcessesAndOneWorkerConvergeToTheDatabase() throws Exception {
        TestDeployment deployment = TestDeployment.fresh("conv");
        try (TestNode worker = deployment.start(Settings.Role.WORKER);
             TestNode api1 = deployment.start(Settings.Role.API);
             TestNode api2 = deployment.start(Settings.Role.API);
             LoadClient load = new LoadClient()) {
            // 32 virtual-thread writers x 500 writes, alternating between the two API processes.
            load.run(32, 500, 20, writer -> (writer % 2 == 0 ? api1 : api2).uri("/"));

            assertThat(load.failed(), is(0L));
            assertThat(load.acknowledged(), is(16_000L));
            StoredContent stored = StoredContent.read(TestServices.db(deployment.schema()));
            assertThat(stored.revision(), is(16_000L));
            assertThat(stored.eventRevisions(), is(LongStream.rangeClosed(1, 16_000).boxed().toList()));
            for (TestNode api : List.of(api1, api2)) {
                await().until(() -> api.revision() == stored.revision());
                assertThat(api.contents(), is(stored.values()));
            }
            load.acknowledgedWrites().forEach((key, ack) -> {
                assertThat(stored.values().get(key), is(new Entry(ack.value(), ack.revision())));
            });
        }
    }

    @Test
    void twoWorkersKeepOneGapFreeOrder() throws Exception {
        TestDeployment deployment = TestDeployment.fresh("twow");
        try (TestNode worker1 = deployment.start(Settings.Role.WORKER);
             TestNode worker2 = deployment.start(Settings.Role.WORKER);
             TestNode api = deployment.start(Settings.Role.API);
             LoadClient load = new LoadClient()) {
            load.run(16, 200, 10, writer -> api.uri("/"));

            assertThat(load.failed(), is(0L));
            StoredContent stored = StoredContent.read(TestServices.db(deployment.schema()));
            assertThat(stored.revision(), is(3_200L));
            assertThat(stored.eventRevisions(), is(LongStream.rangeClosed(1, 3_200).boxed().toList()));
            await().until(() -> api.revision() == 3_200L);
            assertThat(api.contents(), is(stored.values()));
        }
    }

    /**
     * A worker rehearses its commit before it consumes (so that its cold first batch does not hold the revision lock
     * the other workers wait for): the rehearsal takes no lock, so it finishes while another batch holds it, and it
     * leaves nothing behind.
     */
    @Test
    void workerRehearsesWithoutTheRevisionLockAndLeavesNoTrace() throws Exception {
        TestDeployment deployment = TestDeployment.fresh("rehearse");
        Settings.Db db = TestServices.db(deployment.schema());
        try (TestNode first = deployment.start(Settings.Role.WORKER);
             java.sql.Connection holder = java.sql.DriverManager.getConnection(db.url(), db.username(), db.password());
             java.sql.Statement lock = holder.createStatement()) {
            holder.setAutoCommit(false);
            lock.execute("SELECT revision FROM \"" + deployment.schema() + "\".kv_meta WHERE id = 1 FOR UPDATE");

            try (TestNode second = deployment.start(Settings.Role.WORKER)) {
                holder.rollback();
                StoredContent stored = StoredContent.read(db);
                assertThat(stored.revision(), is(0L));
                assertThat(stored.values(), is(Map.of()));
                assertThat(stored.eventRevisions(), is(List.of()));
            }
        }
    }

    /**
     * kvstream's processes replicate from one message per committed batch; the documented events exchange still
     * gets every event as its own message, in revision order.
     */
    @Test
    void eachBatchIsOneReplicationMessageAndEachEventOnePublicMessage() throws Exception {
        String schema = TestServices.uniqueName("batchev");
        Settings settings = TestServices.settings(Settings.Role.WORKER, schema, TestServices.uniqueName("batchev"));
        try (Connection connection = connect(settings);
             Channel channel = connection.createChannel();
             TestNode worker = TestNode.start(settings);
             TestNode api = TestNode.start(settings.toBuilder().role(Settings.Role.API).build());
             LoadClient load = new LoadClient()) {
            String batchTap = tap(channel, new Names(settings.amqp().namePrefix()).eventBatchesExchange());
            String publicTap = tap(channel, new Names(settings.amqp().namePrefix()).eventsExchange());
            load.run(16, 100, 10, writer -> api.uri("/"));

            assertThat(load.failed(), is(0L));
            StoredContent stored = StoredContent.read(settings.db());
            await().until(() -> api.revision() == 1_600L);
            assertThat(api.contents(), is(stored.values()));
            // The API may have caught up from the database while the last messages are still on their way to the taps.
            List<Long> batched = new ArrayList<>();
            int[] batchMessages = {0};
            await().until(() -> {
                for (GetResponse message; (message = channel.basicGet(batchTap, true)) != null; batchMessages[0]++) {
                    assertThat(new String(message.getBody(), StandardCharsets.UTF_8), startsWith("["));
                    for (DomainEvent event : Json.read(message.getBody(), DomainEvent[].class)) {
                        batched.add(event.revision());
                    }
                }
                return !batched.isEmpty() && batched.getLast() == 1_600L;
            });
            assertThat(batched, is(LongStream.rangeClosed(1, 1_600).boxed().toList()));
            assertThat(batchMessages[0], lessThan(1_600));
            List<Long> single = new ArrayList<>();
            await().until(() -> {
                for (GetResponse message; (message = channel.basicGet(publicTap, true)) != null; ) {
                    assertThat(new String(message.getBody(), StandardCharsets.UTF_8), startsWith("{\"event\":"));
                    single.add(Json.read(message.getBody(), DomainEvent.class).revision());
                }
                return !single.isEmpty() && single.getLast() == 1_600L;
            });
            assertThat(single, is(batched));
        }
    }

    /** With {@code public-events: false} nothing reaches the public exchange, and replication is unchanged. */
    @Test
    void publicEventsCanBeTurnedOff() throws Exception {
        String schema = TestServices.uniqueName("nopublic");
        Settings settings = TestServices.settings(Settings.Role.ALL, schema, TestServices.uniqueName("nopublic"));
        settings = settings.toBuilder().amqp(settings.amqp().withPublicEvents(false)).build();
        try (Connection connection = connect(settings);
             Channel channel = connection.createChannel();
             TestNode node = TestNode.start(settings);
             LoadClient load = new LoadClient()) {
            String publicTap = tap(channel, new Names(settings.amqp().namePrefix()).eventsExchange());
            load.run(4, 25, 10, writer -> node.uri("/"));

            assertThat(load.failed(), is(0L));
            await().until(() -> node.revision() == 100L);
            assertThat(node.contents(), is(StoredContent.read(settings.db()).values()));
            assertThat(channel.basicGet(publicTap, true), is(nullValue()));
        }
    }

    /**
     * While no queue is bound to the public exchange the relay sends it only each batch's first event; a queue bound
     * while writes flow gets, from some batch on, every event to the last, in order and without a gap.
     */
    @Test
    void aQueueBoundToThePublicFeedMidStreamGetsEveryLaterEvent() throws Exception {
        String schema = TestServices.uniqueName("latepublic");
        Settings settings = TestServices.settings(Settings.Role.ALL, schema, TestServices.uniqueName("latepublic"));
        try (Connection connection = connect(settings);
             Channel channel = connection.createChannel();
             TestNode node = TestNode.start(settings);
             LoadClient load = new LoadClient()) {
            // The writes go on until well after the queue is bound, however fast the machine commits them.
            AtomicBoolean writing = new AtomicBoolean(true);
            ExecutorService writers = load.start(8, 10, writing::get, writer -> node.uri("/"));
            await().until(() -> node.revision() >= 100L);
            String publicTap = tap(channel, new Names(settings.amqp().namePrefix()).eventsExchange());
            long boundAt = node.revision();
            await().until(() -> node.revision() >= boundAt + 300);
            writing.set(false);
            writers.close();

            assertThat(load.failed(), is(0L));
            long last = node.revision();
            assertThat(last, greaterThanOrEqualTo(boundAt + 300));
            List<Long> single = new ArrayList<>();
            await().until(() -> {
                for (GetResponse message; (message = channel.basicGet(publicTap, true)) != null; ) {
                    single.add(Json.read(message.getBody(), DomainEvent.class).revision());
                }
                return !single.isEmpty() && single.getLast() == last;
            });
            assertThat(single.getFirst(), lessThanOrEqualTo(boundAt + 1));
            assertThat(single, is(LongStream.rangeClosed(single.getFirst(), last).boxed().toList()));
        }
    }

    private static String tap(Channel channel, String exchange) throws IOException {
        String queue = channel.queueDeclare().getQueue();
        channel.queueBind(queue, exchange, "");
        return queue;
    }

    @Test
    void redeliveredCommandChangesNothingAndGetsTheSameAnswer() throws Exception {
        try (CommandWire wire = new CommandWire("redeliver")) {
            Command command = Command.put("fixed-command-id", "dup", "once", null, false);
            AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().replyTo(wire.replies)
                    .correlationId(command.id()).deliveryMode(2).build();

            wire.publish(props, Json.write(command));
            CommandOutcome first = wire.nextOutcome();
            // The same command again, as the broker would redeliver it after a worker crash before its ack.
            wire.publish(props, Json.write(command));
            CommandOutcome second = wire.nextOutcome();

            assertThat(first, is(new CommandOutcome("fixed-command-id", CommandOutcome.Status.APPLIED, 1)));
            assertThat(second, is(first));
            StoredContent stored = StoredContent.read(wire.settings.db());
            assertThat(stored.revision(), is(1L));
            assertThat(stored.eventRevisions(), is(List.of(1L)));
            assertThat(stored.values(), is(Map.of("dup", new Entry("once", 1))));
        }
    }

    /** The API asks for no reply to an applied command: its domain event answers it. Refusals still get one. */
    @Test
    void appliedCommandIsAnsweredByItsEventAndARefusalByAReply() throws Exception {
        try (CommandWire wire = new CommandWire("noreply")) {
            for (Command command : List.of(Command.put("applied-id", "once", "v", null, false),
                                           Command.put("refused-id", "once", "w", null, true))) {
                wire.publish(wire.unlessApplied().correlationId(command.id()).build(), Json.write(command));
            }

            // The worker takes commands in order, so a reply for the applied one would come first.
            assertThat(wire.nextOutcome(), is(new CommandOutcome("refused-id", CommandOutcome.Status.PRECONDITION_FAILED, 1)));
            await().until(() -> wire.node.revision() == 1L);
            assertThat(wire.node.value("once").orElseThrow(), is(new Entry("v", 1)));
            assertThat(wire.channel.messageCount(wire.replies), is(0L));
        }
    }

    /** An API process sends the commands that queue up meanwhile as one message: a JSON array, applied in order. */
    @Test
    void messageCarryingSeveralCommandsAppliesThemInOrderAndDropsOnlyTheMalformedOne() throws Exception {
        try (CommandWire wire = new CommandWire("array")) {
            String body = "[" + json(Command.put("c1", "a", "1", null, false))
                          + "," + json(Command.put("c2", "a", "2", null, true))
                          + ",{\"id\":\"c3\",\"op\":\"explode\",\"key\":\"x\"}"
                          + "," + json(Command.delete("c4", "a", 1L))
                          + "," + json(Command.put("c5", "b", "3", null, false))
                          + "]";
            wire.publish(wire.unlessApplied().build(), body.getBytes(StandardCharsets.UTF_8));

            assertThat(wire.nextOutcome(), is(new CommandOutcome("c2", CommandOutcome.Status.PRECONDITION_FAILED, 1)));
            await().until(() -> wire.node.revision() == 3L);
            StoredContent stored = StoredContent.read(wire.settings.db());
            assertThat(stored.values(), is(Map.of("b", new Entry("3", 3))));
            assertThat(stored.eventRevisions(), is(List.of(1L, 2L, 3L)));
            assertThat(wire.node.contents(), is(stored.values()));
            assertThat(wire.channel.messageCount(wire.replies), is(0L));
        }
    }

    private static String json(Command command) {
        return new String(Json.write(command), StandardCharsets.UTF_8);
    }

    /** One process (role all) and a raw AMQP channel to its command queue, with a reply queue of the test's own. */
    private static final class CommandWire implements AutoCloseable {
        final Settings settings;
        final TestNode node;
        final Connection connection;
        final Channel channel;
        final String replies;

        CommandWire(String name) throws IOException, TimeoutException {
            settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName(name), TestServices.uniqueName(name));
            node = TestNode.start(settings);
            connection = connect(settings);
            channel = connection.createChannel();
            replies = channel.queueDeclare().getQueue();
        }

        /** Properties as the API sets them on synchronous commands: reply only when nothing was applied. */
        AMQP.BasicProperties.Builder unlessApplied() {
            return new AMQP.BasicProperties.Builder().replyTo(replies)
                    .headers(Map.of(CommandCodec.REPLY_HEADER, CommandCodec.REPLY_UNLESS_APPLIED));
        }

        void publish(AMQP.BasicProperties props, byte[] body) throws IOException {
            channel.basicPublish("", new Names(settings.amqp().namePrefix()).commandQueue(), props, body);
        }

        CommandOutcome nextOutcome() {
            return ConvergenceTest.nextOutcome(channel, replies);
        }

        @Override
        public void close() throws IOException {
            try {
                connection.close();
            } finally {
                node.close();
            }
        }
    }

    private static CommandOutcome nextOutcome(Channel channel, String queue) {
        List<GetResponse> got = new ArrayList<>();
        await().until(() -> {
            GetResponse response = channel.basicGet(queue, true);
            if (response != null) {
                got.add(response);
            }
            return !got.isEmpty();
        });
        CommandOutcome outcome = Json.read(got.getFirst().getBody(), CommandOutcome.class);
        assertThat(outcome, notNullValue());
        return outcome;
    }

    private static Connection connect(Settings settings) throws IOException, TimeoutException {
        ConnectionFactory factory = new ConnectionFactory();
        try {
            factory.setUri(settings.amqp().uri());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return factory.newConnection("test");
    }
}
