package io.kvstream.role;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.helidon.health.HealthCheck;
import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.kvstream.replica.Replica;
import io.kvstream.storage.DatabaseMonitor;
import io.kvstream.wire.Broker;

/**
 * {@code /observe/health/ready}: whether this process should be sent traffic.
 * <p>
 * A process that serves clients (API, WebSocket, {@code all}) needs the broker, since cut off from it the process
 * misses what others commit, and its replica loaded. It does not need PostgreSQL: nothing commits while the database
 * is away, so the replica stays as current as the committed history and reads go on, while writes answer 503 and
 * resumes of {@code /events} are told to retry, each by itself. Were the database a condition, one restart of it
 * would take every API pod out of its Service at once and turn an outage of writes into an outage of everything.
 * Its state is a detail of the broker check. A worker does nothing without the database, so there it is a condition.
 */
final class Readiness {
    private Readiness() {
    }

    private record Check(String name, Supplier<HealthCheckResponse> response) implements HealthCheck {
        @Override
        public HealthCheckType type() {
            return HealthCheckType.READINESS;
        }

        @Override
        public HealthCheckResponse call() {
            return response.get();
        }
    }

    /** A process that serves clients: the broker reachable and the replica, if it keeps one, loaded. */
    static List<HealthCheck> serving(DatabaseMonitor database, Broker broker, Replica replica) {
        List<HealthCheck> checks = new ArrayList<>();
        checks.add(new Check("broker", () -> HealthCheckResponse.builder()
                .status(broker.isOpen())
                .detail("database", database.getAsBoolean() ? "reachable" : "unreachable: writes answer 503")
                .build()));
        if (replica != null) {
            checks.add(new Check("replica", () -> HealthCheckResponse.builder()
                    .status(replica.loaded())
                    .detail("revision", replica.revision())
                    .detail("keys", replica.size())
                    .build()));
        }
        return checks;
    }

    /** A worker: the database and the broker reachable. */
    static List<HealthCheck> worker(DatabaseMonitor database, Broker broker) {
        return List.of(new Check("database", () -> up(database)), new Check("broker", () -> up(broker::isOpen)));
    }

    private static HealthCheckResponse up(BooleanSupplier reachable) {
        return HealthCheckResponse.builder().status(reachable.getAsBoolean()).build();
    }
}
