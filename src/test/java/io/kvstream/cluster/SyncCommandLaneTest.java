package io.kvstream.cluster;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ShutdownSignalException;
import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.RabbitTools;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import io.kvstream.wire.Broker;
import io.kvstream.wire.CommandReceiver;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThan;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.oneOf;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@code kvstream.amqp.sync-command-lane=worker-queues} with a quorum command queue, on the machine's RabbitMQ (with
 * plugin rabbitmq_random_exchange enabled, as .ci/run does): synchronous commands take the workers' own queues, fall
 * back to the command queue when no worker's queue is bound, and a worker that stops taking commands (shutting down,
 * or cut off from PostgreSQL) hands its queue's commands to the command queue, so no write answered 200 is lost and
 * none applies twice.
 */
class SyncCommandLaneTest {
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private TestDeployment deployment;

    @BeforeEach
    void freshDeployment() {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ and PostgreSQL; CI sets KVSTREAM_TEST_*");
        deployment = TestDeployment.fresh("lane");
    }

    @Test
    void syncWritesTakeTheWorkersOwnQueueAndReachPostgres() throws Exception {
        Settings apiSettings = lane(Settings.Role.API);
        try (TestNode worker = TestNode.start(lane(Settings.Role.WORKER));
             TestNode api = TestNode.start(apiSettings);
             LoadClient load = new LoadClient();
             Connection probe = connect(TestServices.amqpUri())) {
            List<String> lanes = laneQueues();
            assertThat(lanes, hasSize(1));
            assertThat(lanes.getFirst(), startsWith("amq.gen-"));
            assertThat("the lane is exclusive to its worker's connection", exclusive(probe, lanes.getFirst()), is(true));
            long committedBefore = commandQueueCommitIndex();

            load.run(8, 50, 5, w -> api.uri("/"));

            assertThat(load.failed(), is(0L));
            assertThat(load.acknowledged(), is(400L));
            StoredEvents.assertConsistent(apiSettings.db(), load, List.of(api));
            // Each command through the quorum queue adds at least two entries to its log (enqueue, settle).
            assertThat("entries the 400 writes added to the command queue's log",
                       commandQueueCommitIndex() - committedBefore, lessThan(40L));
        }
    }

    @Test
    void withNoWorkerQueueBoundASyncWriteWaitsInTheCommandQueueAndIsCommittedOnceAWorkerStarts() throws Exception {
        Settings apiSettings = lane(Settings.Role.API);
        try (TestNode api = TestNode.start(apiSettings);
             LoadClient load = new LoadClient();
             Connection probe = connect(TestServices.amqpUri())) {
            assertThat(load.putAsync(api.uri("/"), "async-key", "a"), is(202));
            // No worker: the broker returns the command, which then waits in the command queue; the caller times out.
            assertThat(load.put(api.uri("/"), "sync-key", "s"), is(504));
            Channel channel = probe.createChannel();
            assertThat(channel.queueDeclarePassive(new Names(deployment.prefix()).commandQueue()).getMessageCount(),
                       is(2));

            try (TestNode worker = TestNode.start(lane(Settings.Role.WORKER))) {
                await().atMost(PATIENCE).until(() -> api.value("sync-key").isPresent()
                                                     && api.value("async-key").isPresent());
                assertThat(api.value("sync-key").orElseThrow().value(), is("s"));
                // With the worker's queue bound, writes are answered again.
                assertThat(load.put(api.uri("/"), "sync-key", "s2"), is(200));
            }
        }
    }

    @Test
    void leaderShuttingDownUnderLoadHandsBackItsQueueAndLosesNoAnsweredWrite() throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        Settings apiSettings = lane(Settings.Role.API);
        // The leading worker leaves: started alone, it leads, and only the leader binds its queue.
        TestNode leaves = TestNode.start(lane(Settings.Role.WORKER));
        boolean left = false;
        try {
            await().atMost(PATIENCE).until(() -> laneQueues().size() == 1);
            String leadersLane = laneQueues().getFirst();
            try (TestNode stays = TestNode.start(lane(Settings.Role.WORKER));
                 TestNode api1 = TestNode.start(apiSettings);
                 TestNode api2 = TestNode.start(apiSettings);
                 LoadClient load = new LoadClient()) {
                ExecutorService sync = load.start(12, 10, writing::get, w -> base(w % 2 == 0 ? api1 : api2));
                ExecutorService async = load.startAsync(2, writing::get, w -> base(w % 2 == 0 ? api1 : api2));
                await().atMost(PATIENCE).until(() -> load.acknowledged() > 500);

                leaves.close();
                left = true;
                long acknowledgedAtStop = load.acknowledged();
                await().atMost(PATIENCE).until(() -> load.acknowledged() > acknowledgedAtStop + 500);
                writing.set(false);
                sync.close();
                async.close();

                System.out.println("SyncCommandLaneTest: answers while a worker shut down " + load.statuses()
                                   + "; unsuccessful ones " + load.failures());
                assertThat(load.statuses().keySet(), everyItem(oneOf(200, 202)));
                assertThat("the standby's queue took over", laneQueues(), hasSize(1));
                assertThat(laneQueues().getFirst(), not(leadersLane));
                StoredEvents.awaitAcceptedCommitted(apiSettings.db(), load, PATIENCE);
                StoredEvents.assertConsistent(apiSettings.db(), load, List.of(api1, api2));
            }
        } finally {
            if (!left) {
                leaves.close();
            }
        }
    }

    @Test
    void leaderCutOffFromTheDatabaseUnbindsItsQueueAndTheStandbyBindsItsOwn() throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        Settings.Db db = TestServices.db();
        try (TcpProxy toDatabase = TcpProxy.toDatabase(db.url());
             TestNode api = TestNode.start(lane(Settings.Role.API));
             LoadClient load = new LoadClient()) {
            Settings apiSettings = lane(Settings.Role.API);
            Settings cutOffSettings = deployment.failingFast(Settings.Role.WORKER, toDatabase.jdbcUrl(db.url()));
            // The worker cut off leads (started alone) and binds the only queue; the healthy one stands by.
            try (TestNode cutOff = TestNode.start(withLane(cutOffSettings))) {
                await().atMost(PATIENCE).until(() -> laneQueues().size() == 1);
                String cutOffLane = laneQueues().getFirst();
                try (TestNode healthy = TestNode.start(lane(Settings.Role.WORKER))) {
                    ExecutorService sync = load.start(8, 10, writing::get, w -> base(api));
                    await().atMost(PATIENCE).until(() -> load.acknowledged() > 300);

                    toDatabase.stop();
                    await().atMost(PATIENCE).until(() -> laneQueues().size() == 1 && !laneQueues().contains(cutOffLane));
                    long acknowledgedAtCut = load.acknowledged();
                    await().atMost(PATIENCE).until(() -> load.acknowledged() > acknowledgedAtCut + 300);
                    toDatabase.start();
                    // Back, the first worker stands by: the healthy one keeps the lead and the only bound queue.
                    await().atMost(PATIENCE).until(() -> laneQueues().size() == 1 && !laneQueues().contains(cutOffLane));
                    long acknowledgedAtReturn = load.acknowledged();
                    await().atMost(PATIENCE).until(() -> load.acknowledged() > acknowledgedAtReturn + 300);
                    writing.set(false);
                    sync.close();
                }
            }

            System.out.println("SyncCommandLaneTest: answers while a worker was cut off from the database "
                               + load.statuses() + "; unsuccessful ones " + load.failures());
            // A command the cut-off worker took before it noticed may time out (504, "may still apply").
            assertThat(load.statuses().keySet(), everyItem(oneOf(200, 504)));
            assertThat(load.statuses().getOrDefault(200, 0L), greaterThan(900L));
            StoredEvents.assertConsistent(apiSettings.db(), load, List.of(api));
        }
    }

    @Test
    void workerQueueIsDeclaredBoundAndConsumedAgainAfterTheBrokerConnectionDrops() throws Exception {
        URI broker = URI.create(TestServices.amqpUri());
        try (TcpProxy toBroker = new TcpProxy(broker.getHost(), broker.getPort()).start();
             LoadClient load = new LoadClient()) {
            Settings workerSettings = lane(Settings.Role.WORKER);
            String proxied = TestServices.amqpUri().replace(":" + broker.getPort() + "/", ":" + toBroker.port() + "/");
            workerSettings = workerSettings.toBuilder().amqp(workerSettings.amqp().withUri(proxied)).build();
            Settings apiSettings = lane(Settings.Role.API);
            try (TestNode worker = TestNode.start(workerSettings);
                 TestNode api = TestNode.start(apiSettings)) {
                List<String> before = laneQueues();
                assertThat(before, hasSize(1));
                assertThat(load.put(api.uri("/"), "k", "before"), is(200));

                toBroker.stop();
                await().atMost(PATIENCE).until(() -> laneQueues().isEmpty());
                toBroker.start();
                await().atMost(PATIENCE).until(() -> laneQueues().size() == 1);

                assertThat(laneQueues().getFirst(), is(not(before.getFirst())));
                // Only the recovered queue's consumer can answer these: a bound queue nobody consumes would hold them.
                load.run(4, 25, 5, w -> api.uri("/"));
                assertThat(load.statuses().keySet(), everyItem(is(200)));
                assertThat(load.acknowledged(), is(101L));
                StoredEvents.assertConsistent(apiSettings.db(), load, List.of(api));
            }
        }
    }

    /**
     * A worker that stops taking commands while the broker is away (its relay lost the lead, or the database went)
     * leaves nothing half subscribed: the client forgets a binding and a consumer as it asks the broker to drop them,
     * so a pause that stopped half way used to leave the command consumer for the recovery to bring back, without the
     * lane's binding. Resumed after the recovery, the worker binds its new lane and takes commands from it.
     */
    @Test
    void aWorkerThatStopsTakingCommandsWhileTheBrokerIsAwayBindsItsLaneAgainWhenItResumes() throws Exception {
        URI broker = URI.create(TestServices.amqpUri());
        BlockingQueue<CommandReceiver.Incoming> received = new LinkedBlockingQueue<>();
        CountDownLatch recovered = new CountDownLatch(1);
        try (TcpProxy toBroker = new TcpProxy(broker.getHost(), broker.getPort()).start()) {
            Settings.Amqp amqp = lane(Settings.Role.WORKER).amqp();
            amqp = amqp.withUri(amqp.uri().replace(":" + broker.getPort() + "/", ":" + toBroker.port() + "/"));
            try (Broker connection = Broker.connect(amqp, "lane-pause", PATIENCE);
                 CommandReceiver receiver = new CommandReceiver(connection, received::add);
                 Connection probe = connect(TestServices.amqpUri())) {
                connection.onRecovery(recovered::countDown);
                receiver.resume(10);
                assertThat(laneQueues(), hasSize(1));

                toBroker.stop();
                await().atMost(PATIENCE).until(() -> !connection.isOpen() && laneQueues().isEmpty());
                assertThrows(Exception.class, () -> receiver.pause(Duration.ZERO));
                assertThat(receiver.consuming(), is(false));
                toBroker.start();
                assertThat(recovered.await(PATIENCE.toSeconds(), TimeUnit.SECONDS), is(true));
                assertThat("a paused worker's lane is not bound by the recovery", laneQueues(), is(empty()));

                receiver.resume(10);
                assertThat(receiver.consuming(), is(true));
                assertThat(laneQueues(), hasSize(1));
                Channel channel = probe.createChannel();
                channel.basicPublish(new Names(deployment.prefix()).syncCommandsExchange(), "", true, null,
                                     "[]".getBytes(StandardCharsets.UTF_8));
                CommandReceiver.Incoming incoming = received.poll(PATIENCE.toSeconds(), TimeUnit.SECONDS);
                assertThat(incoming, is(notNullValue()));
                assertThat(incoming.fromLane(), is(true));
            }
        }
    }

    private Settings lane(Settings.Role role) {
        return withLane(deployment.settings(role));
    }

    private static Settings withLane(Settings settings) {
        return settings.toBuilder()
                .amqp(settings.amqp().withCommandQueueType(Settings.QueueType.QUORUM)
                              .withSyncCommandLane(Settings.SyncCommandLane.WORKER_QUEUES))
                .build();
    }

    private static URI base(TestNode node) {
        return node.uri("/");
    }

    /** The queues bound to this deployment's random exchange, as the broker lists them. */
    private List<String> laneQueues() {
        String exchange = new Names(deployment.prefix()).syncCommandsExchange();
        return RabbitTools.rabbitmqctl("list_bindings", "source_name", "destination_name").lines()
                .map(line -> line.split("\t"))
                .filter(columns -> columns.length == 2 && columns[0].equals(exchange))
                .map(columns -> columns[1])
                .toList();
    }

    /** The command queue's Raft commit index (on the machine's single node): how many entries its log has had. */
    private long commandQueueCommitIndex() {
        String status = RabbitTools.run("rabbitmq-queues", "quorum_status",
                                        new Names(deployment.prefix()).commandQueue(), "--formatter", "json");
        java.util.regex.Matcher index = java.util.regex.Pattern.compile("\"Commit Index\":(\\d+)").matcher(status);
        assertThat("quorum_status: " + status, index.find(), is(true));
        return Long.parseLong(index.group(1));
    }

    private static boolean exclusive(Connection probe, String queue) throws IOException {
        Channel channel = probe.createChannel();
        try {
            channel.queueDeclarePassive(queue);
            return false;
        } catch (IOException e) {
            return e.getCause() instanceof ShutdownSignalException signal
                   && signal.getReason() instanceof AMQP.Channel.Close close
                   && close.getReplyCode() == AMQP.RESOURCE_LOCKED;
        }
    }


    private static Connection connect(String uri) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(uri);
        return factory.newConnection("lane-test-probe");
    }
}
