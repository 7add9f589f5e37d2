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

/** {@code /observe/health/ready}: the database and the broker are reachable and the replica, if any, is loaded. */
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

    static List<HealthCheck> checks(DatabaseMonitor database, Broker broker, Replica replica) {
        List<HealthCheck> checks = new ArrayList<>();
        checks.add(new Check("database", () -> up(database)));
        checks.add(new Check("broker", () -> up(broker::isOpen)));
        if (replica != null) {
            checks.add(new Check("replica", () -> HealthCheckResponse.builder()
                    .status(replica.loaded())
                    .detail("revision", replica.revision())
                    .detail("keys", replica.size())
                    .build()));
        }
        return checks;
    }

    private static HealthCheckResponse up(BooleanSupplier reachable) {
        return HealthCheckResponse.builder().status(reachable.getAsBoolean()).build();
    }
}
