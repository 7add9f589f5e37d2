package io.kvstream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.helidon.health.HealthCheckResponse;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.Metrics;
import io.helidon.health.HealthCheckType;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.kvstream.api.ApiErrorHandlers;
import io.kvstream.api.ApiMetrics;
import io.kvstream.api.Authenticator;
import io.kvstream.api.ReplicaService;
import io.kvstream.api.ValuesService;
import io.kvstream.command.CommandBus;
import io.kvstream.event.EventRelay;
import io.kvstream.event.EventSequencer;
import io.kvstream.event.EventSubscriber;
import io.kvstream.page.LandingPage;
import io.kvstream.replica.Replica;
import io.kvstream.storage.Database;
import io.kvstream.storage.DatabaseMonitor;
import io.kvstream.storage.EventLog;
import io.kvstream.storage.SnapshotReader;
import io.kvstream.worker.BatchCommitter;
import io.kvstream.worker.CommandConsumer;
import io.kvstream.worker.WorkerMetrics;
import io.kvstream.ws.EventsEndpoint;

/**
 * The running parts of one kvstream process, chosen by its role, wired in data-flow order:
 * storage and broker, then the worker (consumer and relay), then the event feed, replica and HTTP services.
 * {@link #configure} adds this process's routes and observability to a web server.
 */
public final class Kvstream implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Kvstream.class.getName());
    private static final Duration CATCH_UP_INTERVAL = Duration.ofSeconds(2);

    private final Settings settings;
    private final Deque<AutoCloseable> closeables = new ArrayDeque<>();
    private final Database database;
    private final DatabaseMonitor databaseMonitor;
    private final Broker broker;
    private CommandConsumer consumer;
    private EventRelay relay;
    private EventSequencer sequencer;
    private Replica replica;
    private CommandBus commandBus;
    private EventsEndpoint events;

    private Kvstream(Settings settings) {
        this.settings = settings;
        String name = "kvstream-" + settings.role().name().toLowerCase(java.util.Locale.ROOT);
        this.database = own(Database.open(settings.db(), name));
        this.databaseMonitor = own(new DatabaseMonitor(database));
        this.broker = own(Broker.connect(settings.amqp(), name, Duration.ofSeconds(60)));
    }

    /** Connects to PostgreSQL and the broker and starts what the role runs; the replica is loaded on return. */
    public static Kvstream start(Settings settings) {
        Kvstream app = new Kvstream(settings);
        try {
            app.startRole();
            return app;
        } catch (IOException e) {
            app.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            app.close();
            throw e;
        }
    }

    private void startRole() throws IOException {
        Settings.Role role = settings.role();
        if (role.runsWorker()) {
            relay = own(new EventRelay(database, broker, settings.eventRetention()));
            // While this process's relay leads, it is handed every batch: a NOTIFY is only for another leader.
            BatchCommitter committer = new BatchCommitter(database, relay::committed, () -> !relay.leads());
            consumer = own(new CommandConsumer(broker, committer, new WorkerMetrics(), settings.workerBatchSize()));
            relay.start();
            consumer.start();
        }
        if (role.servesApi() || role.servesEvents()) {
            EventLog eventLog = new EventLog(database);
            sequencer = new EventSequencer(eventLog);
            // Subscribe first: events that arrive while the snapshot loads are buffered, not lost.
            own(new EventSubscriber(broker, sequencer::offer));
            broker.onRecovery(() -> Thread.ofVirtual().start(sequencer::catchUp));
            if (role.servesApi()) {
                replica = new Replica(new SnapshotReader(database));
                sequencer.addListener(replica);
                sequencer.start(replica.load(), replica::load);
                commandBus = own(new CommandBus(broker));
                sequencer.addListener(commandBus::applied);
                Metrics.getOrCreate(Gauge.builder("kvstream.replica.revision", replica::revision)
                                            .description("Last revision applied to this replica"));
                Metrics.getOrCreate(Gauge.builder("kvstream.replica.keys", replica::size)
                                            .description("Keys held in memory"));
            } else {
                sequencer.start(eventLog.committedRevision(), eventLog::committedRevision);
            }
            if (role.servesEvents()) {
                events = own(new EventsEndpoint(settings.ws(), eventLog, sequencer, broker,
                                                new Authenticator(settings.auth())));
                sequencer.addListener(events);
            }
            Metrics.getOrCreate(Gauge.builder("kvstream.events.lag", sequencer::lag)
                                        .description("Revisions seen on the wire but not yet applied"));
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                    Thread.ofVirtual().name("catch-up").factory());
            closeables.push(timer::shutdownNow);
            // A safety net for a quiet period after a lost event: poll the log now and then.
            timer.scheduleWithFixedDelay(sequencer::catchUp, CATCH_UP_INTERVAL.toMillis(),
                                         CATCH_UP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Adds this role's routes, error handling and {@code /observe} endpoints to a server. */
    public void configure(WebServerConfig.Builder server) {
        server.addFeature(observe());
        server.routing(this::routing);
        if (events != null) {
            events.configure(server);
        }
    }

    public void routing(HttpRouting.Builder routing) {
        if (settings.role().servesApi()) {
            ApiMetrics metrics = new ApiMetrics();
            ApiErrorHandlers.register(routing, metrics);
            Authenticator auth = new Authenticator(settings.auth());
            routing.register("/values", new ValuesService(replica, commandBus, databaseMonitor,
                                                           settings.maxValueBytes(), settings.commandTimeout(),
                                                           metrics, auth));
            routing.register(new LandingPage(replica, auth));
            routing.register("/replica", new ReplicaService(replica, new SnapshotReader(database)));
        }
    }

    private ObserveFeature observe() {
        HealthObserver health = HealthObserver.builder()
                .details(true)
                .useSystemServices(false)
                .addCheck(() -> HealthCheckResponse.builder().status(true).build(), HealthCheckType.LIVENESS, "process")
                .addCheck(() -> HealthCheckResponse.builder()
                                  .status(databaseMonitor.getAsBoolean())
                                  .build(), HealthCheckType.READINESS, "database")
                .addCheck(() -> HealthCheckResponse.builder()
                                  .status(broker.isOpen())
                                  .build(), HealthCheckType.READINESS, "broker")
                .addCheck(this::replicaHealth, HealthCheckType.READINESS, "replica")
                .build();
        return ObserveFeature.builder()
                .observersDiscoverServices(false)
                .addObserver(health)
                .addObserver(new MetricsWithoutRequestFilter())
                .build();
    }

    private HealthCheckResponse replicaHealth() {
        HealthCheckResponse.Builder response = HealthCheckResponse.builder();
        if (replica == null) {
            return response.status(true).build();
        }
        return response.status(replica.loaded())
                .detail("revision", replica.revision())
                .detail("keys", replica.size())
                .build();
    }

    public Settings settings() {
        return settings;
    }

    public Replica replica() {
        return replica;
    }

    public EventSequencer sequencer() {
        return sequencer;
    }

    public Database database() {
        return database;
    }

    public Broker broker() {
        return broker;
    }

    /** Closes WebSocket sessions with 1001 (going away) while the server can still send the close frame. */
    public void stopEvents() {
        if (events != null) {
            events.close();
        }
    }

    private <T extends AutoCloseable> T own(T closeable) {
        closeables.push(closeable);
        return closeable;
    }

    /** Stops in reverse order of start: the worker finishes its batch before the connections close. */
    @Override
    public void close() {
        while (!closeables.isEmpty()) {
            AutoCloseable closeable = closeables.pop();
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "Error while stopping " + closeable.getClass().getSimpleName(), e);
            }
        }
    }
}
