package io.kvstream.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import io.helidon.config.Config;
import io.helidon.health.HealthCheck;
import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.cors.CorsFeature;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.spi.ProtocolConfig;
import io.helidon.webserver.spi.ServerFeature;
import io.helidon.webserver.websocket.WsConfig;
import io.kvstream.api.PreRoutingErrors;
import io.kvstream.api.TxnService;
import io.kvstream.config.Settings;
import io.kvstream.ws.EventsEndpoint;

/**
 * A started kvstream process, as one of the role assemblers ({@link ApiRole}, {@link WorkerRole},
 * {@link WebSocketRole}, {@link AllRole}) put it together: what it adds to the web server, and how it stops.
 */
public final class RunningRole implements AutoCloseable {
    /** The HTTP/1.1 protocol's key under {@code server.protocols}, and its name. */
    private static final String HTTP_1_1 = "http_1_1";

    private final Parts parts;
    private final Consumer<HttpRouting.Builder> routes;
    private final EventsEndpoint stream;
    private final List<HealthCheck> readiness;
    private final List<ServerFeature> features;
    private final RequestDeadlines deadlines;

    /**
     * What an assembler started: its HTTP routes, its {@code /events} endpoint, its readiness checks and the server
     * features it adds (the API's OpenAPI document).
     */
    record Serving(Consumer<HttpRouting.Builder> routes, EventsEndpoint stream, List<HealthCheck> readiness,
                   List<ServerFeature> features) {
    }

    /** Starts the parts of one role; throws what the start threw after stopping whatever had started. */
    @FunctionalInterface
    interface Assembler {
        Serving assemble(Parts parts) throws IOException;
    }

    private RunningRole(Parts parts, Serving serving, Settings.Http http) {
        this.parts = parts;
        this.routes = serving.routes();
        this.stream = serving.stream();
        this.readiness = serving.readiness();
        this.features = serving.features();
        this.deadlines = new RequestDeadlines(http);
    }

    /** Starts the role the settings name. */
    public static RunningRole start(Settings settings) {
        return switch (settings.role()) {
            case API -> ApiRole.start(settings);
            case WORKER -> WorkerRole.start(settings);
            case WEBSOCKET -> WebSocketRole.start(settings);
            case ALL -> AllRole.start(settings);
            case MIGRATE -> throw new IllegalArgumentException("the migrate role serves nothing: it runs and exits");
        };
    }

    static RunningRole assemble(Settings settings, Assembler assembler) {
        Parts parts = Parts.open(settings);
        try {
            return new RunningRole(parts, assembler.assemble(parts), settings.http());
        } catch (IOException e) {
            parts.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            parts.close();
            throw e;
        }
    }

    /**
     * A web server as {@code server} configures it (port, host, {@code protocols.http_1_1}, ...), serving this role
     * ({@link #configure}). The one way a server is built, for the process and for the tests alike.
     */
    public WebServerConfig.Builder server(Config server) {
        return WebServer.builder()
                .config(server)
                .update(builder -> configure(builder, server.get("protocols." + HTTP_1_1)));
    }

    /** {@link #configure(WebServerConfig.Builder, Config)} with HTTP/1.1 as the application's configuration has it. */
    public void configure(WebServerConfig.Builder server) {
        configure(server, Config.create().get("server.protocols." + HTTP_1_1));
    }

    /**
     * Adds this role's routes, its {@code /events} endpoint, the {@code /observe} endpoints and (when origins are
     * allowed) CORS to a server, the deadlines for reading each request ({@code kvstream.http.*}) and, unless
     * {@code server.max-payload-size} is set, the largest body the API reads as the bound of every body; {@code http1}
     * is the configuration of the server's HTTP/1.1 protocol.
     */
    public void configure(WebServerConfig.Builder server, Config http1) {
        if (server.maxPayloadSize() < 0) {
            // Without it Helidon reads a chunk of any declared size whole, before a route can refuse it, and reads out
            // the rest of a body no route wanted: one client could fill the heap.
            server.maxPayloadSize(TxnService.largestBody(parts.settings.maxValueBytes()));
        }
        ConnectionLimit.keepBelowDescriptorLimit(server);
        server.addFeature(observe());
        features.forEach(server::addFeature);
        Optional<CorsFeature> cors = CrossOrigin.feature(parts.settings);
        cors.ifPresent(server::addFeature);
        PreRoutingErrors.configure(server, stream == null ? () -> false : EventsEndpoint::closeReadingWithProtocolError);
        server.routing(routing -> {
            routing.addFilter(ConnectionClose::filter);
            routing.addFilter(deadlines::filter);
            if (cors.isPresent()) {
                CrossOrigin.completePreflights(routing);
            }
            if (stream != null) {
                stream.routing(routing);
            }
            routes.accept(routing);
        });
        if (stream != null) {
            stream.configure(server);
        }
        listenToRequestReads(server, http1);
    }

    /**
     * Makes {@link #deadlines} the receive listener of the HTTP/1.1 protocol: the one the builder holds already, else
     * the configured one ({@code http1}), else a default one. It must be the only one: Helidon 4.5.0 combines several
     * receive listeners into one that forwards no event to any of them ({@code Http1ConnectionListenerUtil}); the one
     * it replaces is Helidon's TRACE logger of received requests. The protocol keeps the configured name: the builder
     * adds the configured protocols when it builds, and one of the same name is replaced, where one of another name
     * would make a second HTTP/1.1 selector.
     */
    private void listenToRequestReads(WebServerConfig.Builder server, Config http1) {
        List<ProtocolConfig> protocols = new ArrayList<>(server.protocols());
        Http1Config configured = protocols.stream()
                .filter(Http1Config.class::isInstance)
                .map(Http1Config.class::cast)
                .findFirst()
                .orElseGet(() -> http1.exists() ? Http1Config.create(http1) : Http1Config.create());
        protocols.removeIf(Http1Config.class::isInstance);
        protocols.add(Http1Config.builder().from(configured).name(HTTP_1_1).receiveListeners(List.of(deadlines)).build());
        if (protocols.stream().noneMatch(WsConfig.class::isInstance)) {
            protocols.add(WsConfig.create());
        }
        // The list is complete: discovery would add a second, default HTTP/1.1 selector, and with two of them Helidon
        // no longer takes the only one for a request it cannot identify (HTTP/1.0 would be closed, not answered 505).
        server.protocols(protocols).protocolsDiscoverServices(false);
    }

    private ObserveFeature observe() {
        HealthObserver health = HealthObserver.builder()
                .details(true)
                .useSystemServices(false)
                .addCheck(() -> HealthCheckResponse.builder().status(true).build(), HealthCheckType.LIVENESS, "process")
                .addHealthChecks(readiness)
                .build();
        return ObserveFeature.builder()
                .observersDiscoverServices(false)
                .addObserver(health)
                .addObserver(new MetricsWithoutRequestFilter())
                .build();
    }

    /** Closes WebSocket sessions with 1001 (going away) while the server can still send the close frame. */
    public void stopStreams() {
        if (stream != null) {
            stream.close();
        }
    }

    /** Stops in reverse order of start: the worker finishes its batch before the connections close. */
    @Override
    public void close() {
        deadlines.close();
        parts.close();
    }
}
