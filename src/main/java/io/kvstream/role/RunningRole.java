package io.kvstream.role;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import io.helidon.health.HealthCheck;
import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.cors.CorsFeature;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.spi.ServerFeature;
import io.kvstream.api.PreRoutingErrors;
import io.kvstream.config.Settings;
import io.kvstream.ws.EventsEndpoint;

/**
 * A started kvstream process, as one of the role assemblers ({@link ApiRole}, {@link WorkerRole},
 * {@link WebSocketRole}, {@link AllRole}) put it together: what it adds to the web server, and how it stops.
 */
public final class RunningRole implements AutoCloseable {
    private final Parts parts;
    private final Consumer<HttpRouting.Builder> routes;
    private final EventsEndpoint stream;
    private final List<HealthCheck> readiness;
    private final List<ServerFeature> features;

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

    private RunningRole(Parts parts, Serving serving) {
        this.parts = parts;
        this.routes = serving.routes();
        this.stream = serving.stream();
        this.readiness = serving.readiness();
        this.features = serving.features();
    }

    /** Starts the role the settings name. */
    public static RunningRole start(Settings settings) {
        return switch (settings.role()) {
            case API -> ApiRole.start(settings);
            case WORKER -> WorkerRole.start(settings);
            case WEBSOCKET -> WebSocketRole.start(settings);
            case ALL -> AllRole.start(settings);
        };
    }

    static RunningRole assemble(Settings settings, Assembler assembler) {
        Parts parts = Parts.open(settings);
        try {
            return new RunningRole(parts, assembler.assemble(parts));
        } catch (IOException e) {
            parts.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            parts.close();
            throw e;
        }
    }

    /**
     * Adds this role's routes, its {@code /events} endpoint, the {@code /observe} endpoints and (when origins are
     * allowed) CORS to a server.
     */
    public void configure(WebServerConfig.Builder server) {
        server.addFeature(observe());
        features.forEach(server::addFeature);
        Optional<CorsFeature> cors = CrossOrigin.feature(parts.settings);
        cors.ifPresent(server::addFeature);
        PreRoutingErrors.configure(server, stream == null ? () -> false : EventsEndpoint::closeReadingWithProtocolError);
        server.routing(routing -> {
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
        parts.close();
    }
}
