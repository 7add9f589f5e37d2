package io.kvstream.faults;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;

import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.RabbitMqCluster;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.oneOf;

/**
 * The replicated command path: kvstream on a 3-node RabbitMQ cluster with the quorum command queue loses the node that
 * leads the queue (SIGKILL) while clients write, synchronously (200) and with {@code Prefer: respond-async} (202).
 * Every acknowledged write is committed with its value, no command is applied twice, and writes are answered 200
 * again once the cluster has elected a new leader. The nodes run from Debian's rabbitmq-server beside the machine's
 * own broker (scripts/rabbitmq-cluster.sh), which this test never touches. As in Kubernetes, synchronous commands take
 * the workers' own queues ({@code sync-command-lane=worker-queues}): one lost with the killed node is answered 504.
 */
class BrokerNodeLossIT {
    private static final int SYNC_WRITERS = 12;
    private static final int ASYNC_WRITERS = 4;
    /** Bounds for a shared, noisy machine: the writes normally come back within seconds. */
    private static final Duration PATIENCE = Duration.ofSeconds(120);

    @Test
    void quorumCommandQueueLosesNoAcknowledgedWriteWhenItsLeaderNodeIsKilled() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's PostgreSQL; CI sets KVSTREAM_TEST_*");
        Tools.require(RabbitMqCluster.available(), "Debian's rabbitmq-server (/usr/lib/rabbitmq/bin/rabbitmq-server)");
        TestDeployment deployment = TestDeployment.fresh("nodeloss");
        AtomicBoolean writing = new AtomicBoolean(true);
        try (RabbitMqCluster cluster = RabbitMqCluster.start(3, "rt", 5780, 25780)) {
            String queue = new Names(deployment.prefix()).commandQueue();
            int leader = cluster.declareQuorumQueue(queue);
            Settings api = onCluster(deployment.settings(Settings.Role.API), cluster);
            try (TestNode worker = TestNode.start(onCluster(deployment.settings(Settings.Role.WORKER), cluster));
                 TestNode api1 = TestNode.start(api);
                 TestNode api2 = TestNode.start(api);
                 LoadClient load = new LoadClient()) {
                ExecutorService sync = load.start(SYNC_WRITERS, 20, writing::get, w -> (w % 2 == 0 ? api1 : api2).uri("/"));
                ExecutorService async = load.startAsync(ASYNC_WRITERS, writing::get, w -> (w % 2 == 0 ? api1 : api2).uri("/"));
                await().atMost(PATIENCE).until(() -> load.acknowledged() > 300 && load.acceptedCommands().size() > 100);

                assertThat("the leader stayed", cluster.leaderOf(queue), is(leader));
                // What the queue looked like before and after the kill, for the story of a failure.
                System.out.println("BrokerNodeLossIT: before the kill: " + cluster.membersOf(queue));
                long beforeKill = System.nanoTime();
                cluster.kill(leader);
                long acknowledgedAtKill = load.acknowledged();
                long acceptedAtKill = load.acceptedCommands().size();
                try {
                    await().atMost(PATIENCE).until(() -> load.acknowledged() > acknowledgedAtKill + 300
                                                         && load.acceptedCommands().size() > acceptedAtKill + 100);
                } finally {
                    System.out.println("BrokerNodeLossIT: after the kill: " + cluster.membersOf(queue)
                                       + "; answers " + load.statuses() + "; unsuccessful ones " + load.failures());
                }
                System.out.printf("BrokerNodeLossIT: node %d killed; 300 more sync and 100 more async writes "
                                  + "acknowledged %d ms later; answers %s%n", leader,
                                  Duration.ofNanos(System.nanoTime() - beforeKill).toMillis(), load.statuses());
                writing.set(false);
                sync.close();
                async.close();

                assertThat(load.statuses().keySet(), everyItem(oneOf(200, 202, 503, 504)));
                assertThat("leader after the kill", cluster.leaderOf(new Names(deployment.prefix()).commandQueue()), is(not(leader)));
                StoredEvents.awaitAcceptedCommitted(api.db(), load, PATIENCE);
                StoredEvents.assertConsistent(api.db(), load, List.of(api1, api2));
                assertThat(load.acceptedCommands().size(), greaterThan(100));
            }
        }
    }

    private static Settings onCluster(Settings settings, RabbitMqCluster cluster) {
        return settings.toBuilder()
                .amqp(settings.amqp().withUri(cluster.uri()).withCommandQueueType(Settings.QueueType.QUORUM)
                              .withSyncCommandLane(Settings.SyncCommandLane.WORKER_QUEUES))
                .build();
    }
}
