package io.kvstream.role;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import io.helidon.health.HealthCheck;
import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Metrics;
import io.helidon.openapi.OpenApiFeature;
import io.helidon.webserver.http.HttpRouting;
import io.kvstream.api.ApiErrorHandlers;
import io.kvstream.api.ApiMetrics;
import io.kvstream.api.BodyBudget;
import io.kvstream.api.ReplicaService;
import io.kvstream.api.TxnService;
import io.kvstream.api.ValuesService;
import io.kvstream.auth.Authenticator;
import io.kvstream.command.CommandBus;
import io.kvstream.command.InProcessWorker;
import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.event.EventRelay;
import io.kvstream.event.EventSequencer;
import io.kvstream.page.LandingPage;
import io.kvstream.replica.Replica;
import io.kvstream.storage.BatchStore;
import io.kvstream.storage.Database;
import io.kvstream.storage.DatabaseMonitor;
import io.kvstream.storage.EventLog;
import io.kvstream.storage.History;
import io.kvstream.storage.SnapshotReader;
import io.kvstream.wire.Broker;
import io.kvstream.wire.EventSubscriber;
import io.kvstream.worker.BatchCommitter;
import io.kvstream.worker.CommandConsumer;
import io.kvstream.worker.KeyExpiry;
import io.kvstream.worker.WorkerMetrics;
import io.kvstream.ws.EventsEndpoint;

/**
 * The building blocks the role assemblers put together, each started on request and stopped, in reverse order of
 * start, when the process closes. Every process has a database pool, a database monitor and a broker connection.
 */
final class Parts implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Parts.class.getName());
    /** A safety net for a quiet period after a lost event: the event feed polls the log this often. */
    private static final Duration CATCH_UP_INTERVAL = Duration.ofSeconds(2);
    private static final Duration BROKER_PATIENCE = Duration.ofSeconds(60);

    final Settings settings;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private Database database;
    private DatabaseMonitor databaseMonitor;
    private Broker broker;

    private Parts(Settings settings) {
        this.settings = settings;
    }

    /** Connects to PostgreSQL and the broker; what opened before a failure is closed again. */
    static Parts open(Settings settings) {
        Parts parts = new Parts(settings);
        try {
            String name = "kvstream-" + settings.role().configName();
            parts.database = parts.own(Database.open(settings.db(), name));
            parts.databaseMonitor = parts.own(new DatabaseMonitor(parts.database));
            // The prefix names the deployment among others on the same broker (rabbitmqctl list_connections).
            parts.broker = parts.own(Broker.connect(settings.amqp(), name + "@" + settings.amqp().namePrefix(),
                                                    BROKER_PATIENCE));
            return parts;
        } catch (RuntimeException e) {
            parts.close();
            throw e;
        }
    }

    /** The worker: consumes the command queue, commits batches and relays their events. */
    CommandConsumer startWorker() throws IOException {
        return startWorker(events -> { });
    }

    /**
     * The worker, handing each committed batch to {@code ownFeed} (this process's event feed) before its relay
     * publishes it: the process applies its own worker's commits without waiting for the broker to bring them back.
     */
    CommandConsumer startWorker(Consumer<List<DomainEvent>> ownFeed) throws IOException {
        EventRelay relay = own(new EventRelay(database, broker, settings.amqp().publicEvents(), settings.events()));
        // While this process's relay leads, it is handed every batch: a NOTIFY is only for another leader.
        WorkerMetrics metrics = new WorkerMetrics();
        BatchCommitter committer = new BatchCommitter(new BatchStore(database), events -> {
            ownFeed.accept(events);
            relay.committed(events);
        }, () -> !relay.leads(), metrics);
        CommandConsumer consumer = own(new CommandConsumer(broker, committer, metrics,
                                                           settings.workerBatchSize(), databaseMonitor, relay::leads));
        KeyExpiry expiry = own(new KeyExpiry(committer, relay::leads));
        Metrics.getOrCreate(Gauge.builder("kvstream.relay.leading", () -> relay.leads() ? 1 : 0)
                                    .description("1 while this worker relays events and takes commands, 0 in standby"));
        relay.start();
        consumer.start();
        expiry.start();
        return consumer;
    }

    /**
     * Subscribes to the events first, so that what arrives while the state loads is buffered, not lost; the
     * sequencer delivers nothing until it is started.
     */
    EventSequencer subscribe() throws IOException {
        EventSequencer sequencer = new EventSequencer(new EventLog(database));
        own(new EventSubscriber(broker, sequencer::receive, sequencer::revision));
        broker.onRecovery(() -> Thread.ofVirtual().start(sequencer::catchUp));
        Metrics.getOrCreate(Gauge.builder("kvstream.events.lag", sequencer::lag)
                                    .description("Revisions seen on the wire but not yet applied"));
        Counter reloads = Metrics.getOrCreate(Counter.builder("kvstream.events.reloads").description(
                "State reloaded from a snapshot: events compacted before this process saw them, or a database"
                + " restored (or failed over) behind it"));
        sequencer.addListener(new EventSequencer.Listener() {
            @Override
            public void onEvent(DomainEvent event) {
                // counts reloads only
            }

            @Override
            public void onResync(long revision) {
                reloads.increment();
            }
        });
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("catch-up").factory());
        started.push(timer::shutdownNow);
        timer.scheduleWithFixedDelay(sequencer::catchUp, CATCH_UP_INTERVAL.toMillis(), CATCH_UP_INTERVAL.toMillis(),
                                     TimeUnit.MILLISECONDS);
        return sequencer;
    }

    Replica replica() {
        Replica replica = new Replica(new SnapshotReader(database));
        Metrics.getOrCreate(Gauge.builder("kvstream.replica.revision", replica::revision)
                                    .description("Last revision applied to this replica"));
        Metrics.getOrCreate(Gauge.builder("kvstream.replica.keys", replica::size)
                                    .description("Keys held in memory"));
        return replica;
    }

    CommandBus commandBus() throws IOException {
        return own(new CommandBus(broker));
    }

    /** A command bus whose synchronous commands go straight to the worker of this process. */
    CommandBus commandBus(InProcessWorker worker) throws IOException {
        return own(new CommandBus(broker, worker));
    }

    EventsEndpoint stream(EventSequencer sequencer, Authenticator auth) throws IOException {
        return own(new EventsEndpoint(settings.ws(), new EventLog(database), sequencer, broker, auth));
    }

    /** A process without a replica still knows where the stored history ends: its stream starts there. */
    LongSupplier committedRevision() {
        EventLog eventLog = new EventLog(database);
        return eventLog::committedRevision;
    }

    /** {@code /values}, {@code /txn}, the landing page and (when asked for) {@code /replica}, with the API's JSON errors. */
    void apiRoutes(HttpRouting.Builder routing, Replica replica, CommandBus commandBus, Authenticator auth) {
        ApiMetrics metrics = new ApiMetrics();
        ApiErrorHandlers.register(routing, metrics);
        BodyBudget bodies = new BodyBudget(settings.http().maxTotalBodyBytes());
        routing.register("/values", new ValuesService(replica, new History(database), commandBus, databaseMonitor,
                                                       settings.maxValueBytes(), settings.commandTimeout(), metrics,
                                                       auth, bodies));
        routing.register("/txn", new TxnService(replica, commandBus, databaseMonitor, settings.maxValueBytes(),
                                                settings.commandTimeout(), metrics, auth, bodies));
        routing.register(new LandingPage(replica, auth));
        if (settings.replicaEndpoint()) {
            routing.register("/replica", new ReplicaService(replica, new SnapshotReader(database)));
        }
    }

    /** Is a process that serves clients ready: the broker reachable, the replica (if any) loaded. */
    List<HealthCheck> servingReadiness(Replica replica) {
        return Readiness.serving(databaseMonitor, broker, replica);
    }

    /** Is the worker ready: the database and the broker reachable. */
    List<HealthCheck> workerReadiness() {
        return Readiness.worker(databaseMonitor, broker);
    }

    /** {@code /openapi}: the API's contract, {@code META-INF/openapi.yaml}, as YAML or JSON. */
    OpenApiFeature openApi() {
        return OpenApiFeature.builder()
                .staticFile("META-INF/openapi.yaml")
                .servicesDiscoverServices(false)
                .build();
    }

    <T extends AutoCloseable> T own(T part) {
        started.push(part);
        return part;
    }

    /** Stops in reverse order of start: the worker finishes its batch before the connections close. */
    @Override
    public void close() {
        while (!started.isEmpty()) {
            AutoCloseable part = started.pop();
            try {
                part.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "Error while stopping " + part.getClass().getSimpleName(), e);
            }
        }
    }
}
