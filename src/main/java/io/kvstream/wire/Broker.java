package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URISyntaxException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.RecoveryListener;
import com.rabbitmq.client.ShutdownSignalException;
import com.rabbitmq.client.impl.recovery.AutorecoveringConnection;
import io.kvstream.config.Settings;

/**
 * One AMQP connection per process, shared by everything of the process that talks to the broker
 * (each uses its own channels). The client recovers the connection, channels, server-named queues,
 * bindings and consumers by itself after a broker outage, to any node the URI lists (a RabbitMQ cluster's node
 * that died is replaced by one that answers); listeners hear about it so they can catch up.
 */
public final class Broker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Broker.class.getName());
    /** The exchange type of plugin rabbitmq_random_exchange: each message goes to one bound queue, chosen at random. */
    private static final String RANDOM_EXCHANGE = "x-random";

    private final Names names;
    private final Settings.QueueType commandQueueType;
    private final Settings.SyncCommandLane syncCommandLane;
    private final Connection connection;
    private final CopyOnWriteArrayList<Runnable> recoveryListeners = new CopyOnWriteArrayList<>();
    /** Between the broker's connection.blocked (a resource alarm) and its connection.unblocked, or a new connection. */
    private volatile boolean blocked;
    /**
     * The channel the shared exchanges and the command queue are declared on, open for the connection's life: the
     * client re-declares recorded topology on the channel that declared it, so a broker that lost its definitions
     * gets them back on reconnect (and a closed channel there would fail every recovery).
     */
    private Channel topology;

    private Broker(Names names, Settings.Amqp settings, Connection connection) {
        this.names = names;
        this.commandQueueType = settings.commandQueueType();
        this.syncCommandLane = settings.syncCommandLane();
        this.connection = connection;
        ((Recoverable) connection).addRecoveryListener(new RecoveryListener() {
            @Override
            public void handleRecovery(Recoverable recoverable) {
                blocked = false;
                LOG.log(Level.INFO, "Broker connection recovered");
                recoveryListeners.forEach(Runnable::run);
            }

            @Override
            public void handleRecoveryStarted(Recoverable recoverable) {
                LOG.log(Level.WARNING, "Broker connection lost, reconnecting");
            }
        });
        connection.addBlockedListener(reason -> {
            blocked = true;
            LOG.log(Level.WARNING, "The broker blocks this connection's publishes (" + reason + ")");
        }, () -> {
            blocked = false;
            LOG.log(Level.INFO, "The broker takes this connection's publishes again");
        });
    }

    /** Connects, retrying until {@code patience} runs out, so pods may start before the broker is ready. */
    public static Broker connect(Settings.Amqp settings, String connectionName, Duration patience) {
        BrokerAddresses addresses = BrokerAddresses.parse(settings.uri());
        ConnectionFactory factory = new ConnectionFactory();
        try {
            factory.setUri(addresses.firstNodeUri());
        } catch (URISyntaxException | GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("kvstream.amqp.uri is not a valid amqp:// URI");
        }
        factory.setAutomaticRecoveryEnabled(true);
        factory.setTopologyRecoveryEnabled(true);
        // Every write waits while the connection is down, so it is tried again soon: the first time after 100 ms, then
        // every 250 ms (a refused connection costs next to nothing).
        factory.setRecoveryDelayHandler(attempt -> attempt == 0 ? 100 : 250);
        factory.setConnectionTimeout(5000);
        factory.setHandshakeTimeout(5000);
        factory.setRequestedHeartbeat(10);
        factory.setSharedExecutor(new ReadingThreadExecutor());
        Instant deadline = Instant.now().plus(patience);
        while (true) {
            try {
                Broker broker = new Broker(new Names(settings.namePrefix()), settings,
                                           factory.newConnection(addresses.nodes(), connectionName));
                try {
                    broker.declareTopology();
                } catch (IOException | RuntimeException e) {
                    broker.close();
                    throw e;
                }
                return broker;
            } catch (IOException | TimeoutException e) {
                if (Instant.now().isAfter(deadline)) {
                    throw new IllegalStateException("Cannot reach the AMQP broker at " + addresses.describe() + ": "
                                                    + e.getMessage(), e);
                }
                LOG.log(Level.WARNING, "AMQP broker not reachable yet (" + e.getMessage() + "), retrying");
                sleepQuietly(Duration.ofSeconds(1));
            }
        }
    }

    public Names names() {
        return names;
    }

    Channel openChannel() throws IOException {
        return connection.createChannel();
    }

    public boolean isOpen() {
        return connection.isOpen();
    }

    /** True while the broker blocks this connection's publishes (a memory or disk alarm). */
    public boolean isBlocked() {
        return blocked;
    }

    /**
     * True if the broker is RabbitMQ: it returns a {@code mandatory} message that reached no queue, then confirms it.
     * Qpid Broker-J (the embedded dev broker) refuses such a message instead, with a nack.
     */
    boolean returnsUnroutedMessages() {
        Object product = connection.getServerProperties().get("product");
        return product != null && product.toString().contains("RabbitMQ");
    }

    Settings.SyncCommandLane syncCommandLane() {
        return syncCommandLane;
    }

    /**
     * Tells {@code listener} (old name, new name) when the automatic recovery re-declared a server-named queue under
     * a new name: the client moves the queue's bindings and consumers over by itself, but not the name its users keep.
     */
    void onQueueRenamed(BiConsumer<String, String> listener) {
        if (connection instanceof AutorecoveringConnection recovering) {
            recovering.addQueueRecoveryListener(listener::accept);
        }
    }

    /** Runs {@code listener} after every automatic recovery of the connection. */
    public void onRecovery(Runnable listener) {
        recoveryListeners.add(listener);
    }

    private void declareTopology() throws IOException {
        topology = connection.createChannel();
        declareCommandQueue();
        topology.exchangeDeclare(names.eventsExchange(), BuiltinExchangeType.FANOUT, true);
        topology.exchangeDeclare(names.eventBatchesExchange(), BuiltinExchangeType.FANOUT, true);
        topology.exchangeDeclare(names.presenceExchange(), BuiltinExchangeType.FANOUT, true);
        if (syncCommandLane == Settings.SyncCommandLane.WORKER_QUEUES) {
            declareSyncCommandsExchange();
        }
    }

    /**
     * The random exchange comes with a plugin that RabbitMQ ships but does not enable; the broker answers an unknown
     * exchange type by closing the connection (COMMAND_INVALID). That is the operator's to fix, so the process stops
     * and says how, rather than retrying.
     */
    private void declareSyncCommandsExchange() throws IOException {
        try {
            topology.exchangeDeclare(names.syncCommandsExchange(), RANDOM_EXCHANGE, true);
        } catch (IOException e) {
            if (e.getCause() instanceof ShutdownSignalException signal
                && signal.getReason() instanceof AMQP.Connection.Close close
                && close.getReplyCode() == AMQP.COMMAND_INVALID) {
                String advice = "kvstream.amqp.sync-command-lane=worker-queues needs the exchange type " + RANDOM_EXCHANGE
                                + ", which the broker does not know (" + close.getReplyText() + "): enable its plugin"
                                + " on every RabbitMQ node (rabbitmq-plugins enable rabbitmq_random_exchange) or set"
                                + " KVSTREAM_AMQP_SYNC_COMMAND_LANE=shared-queue.";
                LOG.log(Level.ERROR, advice);
                throw new IllegalStateException(advice, e);
            }
            throw e;
        }
    }

    /**
     * A queue keeps the type it was created with: declaring it as the other type fails (PRECONDITION_FAILED), and
     * deleting it would drop the commands in it, accepted writes among them. So the process stops and says how to
     * move over, rather than retrying or deleting.
     */
    private void declareCommandQueue() throws IOException {
        try {
            topology.queueDeclare(names.commandQueue(), true, false, false, commandQueueArguments(commandQueueType));
        } catch (IOException e) {
            if (e.getCause() instanceof ShutdownSignalException signal
                && signal.getReason() instanceof AMQP.Channel.Close close
                && close.getReplyCode() == AMQP.PRECONDITION_FAILED) {
                String queue = names.commandQueue();
                String advice = "The command queue " + queue + " exists as another type than "
                                + "kvstream.amqp.command-queue-type=" + commandQueueType.configName()
                                + " (broker: " + close.getReplyText() + "). Either set KVSTREAM_AMQP_COMMAND_QUEUE_TYPE"
                                + " to the type it has, or move over: stop the API processes, wait until the workers have"
                                + " emptied it (rabbitmqctl list_queues name messages), delete it (rabbitmqctl"
                                + " delete_queue " + queue + ") and start again with the new type.";
                LOG.log(Level.ERROR, advice);
                throw new IllegalStateException(advice, e);
            }
            throw e;
        }
    }

    /**
     * A classic queue is declared with no arguments at all: the embedded dev broker (Qpid) refuses an
     * {@code x-queue-type} argument, even {@code classic}, and RabbitMQ then takes the virtual host's default type,
     * which is classic unless the operator set another.
     */
    private static Map<String, Object> commandQueueArguments(Settings.QueueType type) {
        return switch (type) {
            case CLASSIC -> Map.of();
            case QUORUM -> Map.of("x-queue-type", "quorum");
        };
    }

    @Override
    public void close() {
        try {
            connection.close(3000);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing broker connection", e);
        }
    }

    private static void sleepQuietly(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", e);
        }
    }
}
